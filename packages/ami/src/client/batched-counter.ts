type Labels = Record<string, string>;
type IncBy = { inc(labels: Labels, value: number): void };
type Collectable = { collect?: (this: unknown) => void | Promise<void> };

interface Pending {
  labels: Labels;
  n: number;
}

const batches = new WeakMap<object, Map<string, Pending>>();

/**
 * Counts for a prom-client counter, kept in a plain map and handed to the counter when the registry is read
 * (through its `collect` hook). A direct `inc` hashes and validates its labels on every call, a measurable
 * share of the event and action paths; here a hot-path increment is one map update. The map belongs to the
 * counter, so clients sharing a registry share it and nothing is registered per client.
 */
export function batchedCounter(counter: object): (key: string, labelsOf: (key: string) => Labels) => void {
  let pending = batches.get(counter);
  if (!pending) {
    const map = new Map<string, Pending>();
    pending = map;
    batches.set(counter, map);
    const target = counter as Collectable;
    const previous = target.collect;
    target.collect = function collect(this: unknown) {
      for (const entry of map.values()) {
        if (entry.n > 0) (counter as IncBy).inc(entry.labels, entry.n);
        entry.n = 0;
      }
      return previous?.call(this);
    };
  }
  const map = pending;
  return (key, labelsOf) => {
    const entry = map.get(key);
    if (entry) entry.n++;
    else map.set(key, { labels: labelsOf(key), n: 1 });
  };
}

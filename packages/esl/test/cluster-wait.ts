import type { FreeSwitchCluster } from '../src/index.js';

/**
 * Resolves once `condition` holds, checked now and after each change of the view; rejects after `timeoutMs`
 * (generous: the machine is shared) naming what was awaited.
 */
export function until(
  cluster: FreeSwitchCluster,
  what: string,
  condition: () => boolean,
  timeoutMs = 60_000,
): Promise<void> {
  if (condition()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!condition()) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${what}; nodes: ${JSON.stringify(cluster.nodes())}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      cluster.off('change', check);
    };
    cluster.on('change', check);
  });
}

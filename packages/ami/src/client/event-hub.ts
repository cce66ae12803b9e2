import { BoundedAsyncQueue, type BoundedAsyncQueueOptions } from '@pbxkit/core';
import type { AmiEventName } from '../protocol/event-names.js';
import type { AmiMessage } from '../protocol/message.js';

/** Options of `AmiClient.events()`. */
export interface AmiEventStreamOptions extends BoundedAsyncQueueOptions {
  /** Only these event names (any case); default all. */
  names?: readonly (AmiEventName | (string & {}))[];
}

type Listener = (event: AmiMessage) => void;

interface Stream {
  queue: BoundedAsyncQueue<AmiMessage>;
  names: Set<string> | undefined;
}

/**
 * Fan-out of events to per-name listeners and to async-iterator streams, each stream with its own bounded
 * queue so a slow consumer costs bounded memory and never slows the socket.
 */
export class EventHub {
  private readonly byName = new Map<string, Set<Listener>>();
  private streams: Stream[] = [];

  /** Calls `listener` for each event named `name` (any case). Returns the function that unsubscribes. */
  on(name: string, listener: Listener): () => void {
    const key = name.toLowerCase();
    let set = this.byName.get(key);
    if (!set) {
      set = new Set();
      this.byName.set(key, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.byName.delete(key);
    };
  }

  /** A new async-iterable stream of events. */
  stream(options: AmiEventStreamOptions = {}): BoundedAsyncQueue<AmiMessage> {
    const queue = new BoundedAsyncQueue<AmiMessage>(options);
    const names = options.names ? new Set(options.names.map((n) => n.toLowerCase())) : undefined;
    this.streams.push({ queue, names });
    return queue;
  }

  /** Delivers one event to the listeners of its name and to every open stream. */
  dispatch(event: AmiMessage): void {
    if (this.byName.size > 0) {
      const set = this.byName.get(event.name.toLowerCase());
      if (set) for (const listener of set) listener(event);
    }
    if (this.streams.length === 0) return;
    let lower: string | undefined;
    let sawClosed = false;
    for (const stream of this.streams) {
      if (stream.queue.closed) {
        sawClosed = true;
        continue;
      }
      if (stream.names) {
        lower ??= event.name.toLowerCase();
        if (!stream.names.has(lower)) continue;
      }
      stream.queue.push(event);
    }
    // Streams whose consumer stopped (`break`) or that overflowed are dropped lazily.
    if (sawClosed) this.streams = this.streams.filter((s) => !s.queue.closed);
  }

  /** Ends every stream (the client closed); consumers finish what is queued, then stop. */
  endStreams(err?: Error): void {
    for (const stream of this.streams) stream.queue.end(err);
    this.streams = [];
  }
}

import {
  Backoff,
  BoundedAsyncQueue,
  type BoundedAsyncQueueOptions,
  ErrorReporter,
  type Logger,
  MetricsFactory,
  type MetricsOptions,
  resolveLogger,
  TypedEmitter,
} from '@pbxkit/core';
import type { EslClient } from '../client.js';
import type { EslEvent } from '../protocol/event.js';
import { CLUSTER_EVENTS, takeSnapshot } from './snapshot.js';
import { type CallcenterQuery, type ClusterQuery, ClusterState } from './state.js';
import type {
  AgentEntry,
  CallEntry,
  ChannelEntry,
  ClusterChange,
  ClusterInput,
  ClusterNode,
  MemberEntry,
  QueueEntry,
  RegistrationEntry,
  TierEntry,
} from './types.js';

/** Options of {@link FreeSwitchCluster}. */
export interface FreeSwitchClusterOptions extends MetricsOptions {
  /** The nodes, by the name entries are tagged with: `{ fs1: client1, fs2: client2 }`. */
  nodes: Record<string, EslClient>;
  /** See {@link ClusterStateOptions.multipleRegistrations}. Default false. */
  multipleRegistrations?: boolean;
  /** Timeout of each snapshot command, in ms. Default 10 000. */
  snapshotTimeoutMs?: number;
  /**
   * Retry of a node whose first connection or snapshot failed (a lost connection is retried by its client):
   * `{ minMs, maxMs }`. Default 1 000 to 30 000 ms.
   */
  retry?: { minMs?: number; maxMs?: number };
  logger?: Logger;
}

/** Events of {@link FreeSwitchCluster}. */
export interface FreeSwitchClusterEvents {
  /** Every change of the view, in order (entries and node statuses). */
  change: (change: ClusterChange) => void;
  /** A node changed status (`up`, `down`, ...). */
  node: (node: ClusterNode) => void;
  /** A node could not be connected or snapshotted (it is retried); logged and counted whether or not heard. */
  error: (err: Error, node: string) => void;
}

interface NodeWiring {
  name: string;
  client: EslClient;
  /** Bumped on every connection change, so that a snapshot that outlived its connection is dropped. */
  generation: number;
  retry: Backoff;
  timer: NodeJS.Timeout | undefined;
  /** This node's child of the events counter, resolved once (resolving labels per event costs). */
  counted: { inc(): void };
  detach: () => void;
}

/**
 * One continuously updated view of N FreeSWITCH nodes: every node's registrations, channels, calls and
 * mod_callcenter queues, agents, tiers and members, each tagged with its node. Each node is snapshotted
 * (`show channels/calls/registrations as json`, `callcenter_config ... list` when mod_callcenter is loaded)
 * and then followed by its events (CHANNEL_*, `sofia::register`/`unregister`/`expire`, `callcenter::info`).
 * A node that drops is reported `down` and its entries leave the view; when its client reconnects it is
 * snapshotted again. The state logic is {@link ClusterState} (pure); this class only wires clients to it.
 *
 * The clients are the caller's: the cluster connects those not connected yet and subscribes to the events it
 * needs (`stop()` leaves them open; close them yourself).
 *
 * @example
 * ```ts
 * const cluster = new FreeSwitchCluster({
 *   nodes: {
 *     fs1: new EslClient({ host: '10.0.0.1', password: 'ClueCon' }),
 *     fs2: new EslClient({ host: '10.0.0.2', password: 'ClueCon' }),
 *   },
 * });
 * cluster.on('node', (n) => console.log(n.node, n.status));
 * await cluster.start();
 * console.log(cluster.registrations({ user: '1000', domain: 'example.com' }));
 * for await (const change of cluster.changes()) console.log(change.kind, change.op, change.node);
 * ```
 */
export class FreeSwitchCluster extends TypedEmitter<FreeSwitchClusterEvents> {
  /** The state itself, for queries not offered here. */
  readonly state: ClusterState;
  private readonly wirings: NodeWiring[];
  private readonly iterators = new Set<BoundedAsyncQueue<ClusterChange>>();
  private readonly log: Logger;
  private readonly errors: ErrorReporter;
  private readonly snapshotTimeoutMs: number;
  private readonly metrics;
  private stopped = false;

  constructor(options: FreeSwitchClusterOptions) {
    super();
    const names = Object.keys(options.nodes);
    if (names.length === 0) throw new TypeError('FreeSwitchCluster: nodes is empty');
    this.state = new ClusterState({ nodes: names, multipleRegistrations: options.multipleRegistrations });
    this.snapshotTimeoutMs = options.snapshotTimeoutMs ?? 10_000;
    this.log = resolveLogger(options.logger, { component: 'esl-cluster' });
    this.errors = new ErrorReporter('esl', 'cluster', { logger: this.log, registry: options.registry });
    const factory = new MetricsFactory('esl', options.registry);
    this.metrics = {
      events: factory.counter({
        what: 'cluster_events',
        unit: 'total',
        help: 'Events applied to the cluster view, by node',
        labelNames: ['node'],
      }),
      snapshots: factory.counter({
        what: 'cluster_snapshots',
        unit: 'total',
        help: 'Node snapshots taken by the cluster view, by node and result',
        labelNames: ['node', 'result'],
      }),
      up: factory.gauge({
        what: 'cluster_node_up',
        unit: 'ratio',
        help: '1 when the node is up and in the view, else 0',
        labelNames: ['node'],
      }),
    };
    this.wirings = names.map((name) => ({
      name,
      client: options.nodes[name] as EslClient,
      generation: 0,
      retry: new Backoff({ minMs: options.retry?.minMs ?? 1000, maxMs: options.retry?.maxMs ?? 30_000 }),
      timer: undefined,
      counted: this.metrics.events.labels({ node: name }),
      detach: () => {},
    }));
  }

  /**
   * Connects (where needed), subscribes and snapshots every node. Resolves once each node is up or has failed
   * once; never rejects for a node that is down (it is reported `down` and retried).
   */
  async start(): Promise<void> {
    this.stopped = false;
    await Promise.all(this.wirings.map((w) => this.attach(w)));
  }

  /** Stops following the nodes (the clients stay as they are) and ends the iterators of {@link changes}. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.wirings) {
      w.detach();
      w.generation++;
      if (w.timer) clearTimeout(w.timer);
    }
    for (const queue of this.iterators) queue.end();
    this.iterators.clear();
  }

  /**
   * Changes as an async iterator with a bounded queue (default `drop-oldest` past its capacity), from now on.
   * It ends on `stop()`.
   */
  changes(options: BoundedAsyncQueueOptions = {}): AsyncIterableIterator<ClusterChange> {
    const queue = new BoundedAsyncQueue<ClusterChange>(options);
    if (this.stopped) queue.end();
    else this.iterators.add(queue);
    return queue;
  }

  /** Every node and its status. */
  nodes(): ClusterNode[] {
    return this.state.nodes();
  }

  /** Registrations of the nodes that are up, by user, domain or node. */
  registrations(query?: ClusterQuery): RegistrationEntry[] {
    return this.state.registrations(query);
  }

  /** Channels of the nodes that are up, by user, domain (their `presence_id`) or node. */
  channels(query?: ClusterQuery): ChannelEntry[] {
    return this.state.channels(query);
  }

  /** A channel by uuid, on whichever node. */
  channel(uuid: string): ChannelEntry | undefined {
    return this.state.channel(uuid);
  }

  /** Calls (a-leg and bridged legs) of the nodes that are up. */
  calls(query?: ClusterQuery): CallEntry[] {
    return this.state.calls(query);
  }

  /** The call one of whose legs has this uuid. */
  call(uuid: string): CallEntry | undefined {
    return this.state.call(uuid);
  }

  /** mod_callcenter queues. */
  queues(query?: CallcenterQuery): QueueEntry[] {
    return this.state.queues(query);
  }

  /** mod_callcenter agents (with `queue`: those with a tier in it). */
  agents(query?: CallcenterQuery): AgentEntry[] {
    return this.state.agents(query);
  }

  /** mod_callcenter tiers. */
  tiers(query?: CallcenterQuery): TierEntry[] {
    return this.state.tiers(query);
  }

  /** Callers in mod_callcenter queues. */
  members(query?: CallcenterQuery): MemberEntry[] {
    return this.state.members(query);
  }

  private async attach(w: NodeWiring): Promise<void> {
    const client = w.client;
    const onEvent = (event: EslEvent) => {
      const name = event.name;
      if (name !== 'CUSTOM' && !name.startsWith('CHANNEL_')) return;
      w.counted.inc();
      this.feed({ type: 'event', node: w.name, event });
    };
    const onConnected = (info: { reconnected: boolean }) => {
      // The first connection is followed by attach() itself; a reconnection (the client re-subscribed) needs a
      // fresh snapshot.
      if (info.reconnected) void this.sync(w);
    };
    const onDisconnected = (err: Error | undefined) => {
      w.generation++;
      this.feed({ type: 'down', node: w.name, at: Date.now(), error: err?.message ?? 'disconnected' });
    };
    const onClosed = () => {
      w.generation++;
      this.feed({ type: 'down', node: w.name, at: Date.now(), error: 'client closed' });
    };
    client.on('event', onEvent);
    client.on('connected', onConnected);
    client.on('disconnected', onDisconnected);
    client.on('closed', onClosed);
    w.detach = () => {
      client.off('event', onEvent);
      client.off('connected', onConnected);
      client.off('disconnected', onDisconnected);
      client.off('closed', onClosed);
    };
    await this.bringUp(w);
  }

  /** First connection of a node (or a retry of it): connect, subscribe, snapshot. */
  private async bringUp(w: NodeWiring): Promise<void> {
    if (this.stopped) return;
    const generation = ++w.generation;
    try {
      if (w.client.state !== 'connected') {
        this.feed({ type: 'connecting', node: w.name, at: Date.now() });
        await w.client.connect();
      }
      await w.client.subscribe([...CLUSTER_EVENTS]);
    } catch (err) {
      if (generation !== w.generation || this.stopped) return;
      this.fail(w, err, 'could not connect to the node');
      return;
    }
    await this.sync(w);
  }

  /** Snapshots a connected node; events that arrive meanwhile are held by the state and applied after. */
  private async sync(w: NodeWiring): Promise<void> {
    if (this.stopped) return;
    const generation = ++w.generation;
    this.feed({ type: 'syncing', node: w.name, at: Date.now() });
    try {
      const snapshot = await takeSnapshot(w.client, { timeoutMs: this.snapshotTimeoutMs });
      if (generation !== w.generation || this.stopped) return;
      this.feed({ type: 'snapshot', node: w.name, at: Date.now(), snapshot });
      this.metrics.snapshots.inc({ node: w.name, result: 'ok' });
      w.retry.reset();
    } catch (err) {
      if (generation !== w.generation || this.stopped) return;
      this.metrics.snapshots.inc({ node: w.name, result: 'error' });
      this.fail(w, err, 'could not snapshot the node');
    }
  }

  /** Reports a node down with the reason, and tries it again after a backoff. */
  private fail(w: NodeWiring, err: unknown, msg: string): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.feed({ type: 'down', node: w.name, at: Date.now(), error: `${msg}: ${error.message}` });
    this.emitError(this.errors, { msg, node: w.name, level: 'warn' }, error, w.name);
    const delay = w.retry.next();
    w.timer = setTimeout(() => {
      w.timer = undefined;
      void this.bringUp(w);
    }, delay);
    w.timer.unref();
  }

  private feed(input: ClusterInput): void {
    const changes = this.state.apply(input);
    for (const change of changes) {
      if (change.kind === 'node') {
        this.metrics.up.set({ node: change.node }, change.entry.status === 'up' ? 1 : 0);
        this.emit('node', change.entry);
      }
      this.emit('change', change);
      for (const queue of this.iterators) {
        if (queue.closed) this.iterators.delete(queue);
        else queue.push(change);
      }
    }
  }
}

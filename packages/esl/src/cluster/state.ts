import { NodeState } from './node-state.js';
import type {
  AgentEntry,
  CallEntry,
  ChannelEntry,
  ClusterChange,
  ClusterEntryKind,
  ClusterEntryKinds,
  ClusterEventInput,
  ClusterInput,
  ClusterNode,
  ClusterNodeStatus,
  MemberEntry,
  QueueEntry,
  RegistrationEntry,
  TierEntry,
} from './types.js';

/** Options of {@link ClusterState}. */
export interface ClusterStateOptions {
  /** Nodes known from the start (reported `connecting` until their first input). */
  nodes?: string[];
  /**
   * Whether a user may hold several registrations on a node (sofia's `multiple-registrations`). Default false, as
   * in FreeSWITCH's vanilla profiles: a `sofia::register` replaces the user's other bindings on that node.
   */
  multipleRegistrations?: boolean;
  /** Events held per node while its snapshot is taken. Default 100 000; past it the oldest are dropped. */
  maxBufferedEvents?: number;
}

/** Filters of the registration, channel and call queries. */
export interface ClusterQuery {
  /** Only this node's entries. */
  node?: string | undefined;
  /** The SIP user (`1000`): a registration's user, a channel's `presence_id` user part. */
  user?: string | undefined;
  /** The domain: a registration's realm, a channel's `presence_id` domain part. */
  domain?: string | undefined;
}

/** Filters of the call-centre queries. */
export interface CallcenterQuery {
  node?: string | undefined;
  /** Queue name (`support@default`): agents with a tier in it, its members, its tiers. */
  queue?: string | undefined;
  /** Domain part of the agent or queue name. */
  domain?: string | undefined;
}

interface NodeSlot {
  info: ClusterNode;
  state: NodeState;
  buffer: ClusterEventInput[] | undefined;
}

const domainOf = (name: string): string => name.slice(name.indexOf('@') + 1);
const userOf = (name: string): string => {
  const at = name.indexOf('@');
  return at === -1 ? name : name.slice(0, at);
};

/**
 * The realtime state of a FreeSWITCH cluster as a pure state machine: feed it what each node answered and sent
 * ({@link ClusterInput}: status changes, snapshots, events) and it returns what changed; query it at any time.
 * It does no I/O and reads no clock (every input carries its time), so a test can drive it with captured
 * events and a benchmark can measure it alone. {@link FreeSwitchCluster} wires it to `EslClient`s.
 *
 * A node's events received while its snapshot is being taken (`syncing`) are held and applied after the
 * snapshot; a node that goes `down` loses its entries (a `remove` change each), so nothing it reported is shown
 * as live while nobody can vouch for it.
 *
 * @example
 * ```ts
 * const state = new ClusterState();
 * state.apply({ type: 'syncing', node: 'fs1', at: Date.now() });
 * state.apply({ type: 'snapshot', node: 'fs1', at: Date.now(), snapshot: { channels: [], calls: [], registrations: [] } });
 * const changes = state.apply({
 *   type: 'event',
 *   node: 'fs1',
 *   event: {
 *     name: 'CUSTOM',
 *     subclass: 'sofia::register',
 *     headers: { 'from-user': '1000', 'from-host': 'example.com', 'call-id': 'c1', expires: '300' },
 *   },
 * });
 * console.log(changes[0]?.op, state.registrations({ user: '1000' }).length); // add 1
 * ```
 */
export class ClusterState {
  private readonly slots = new Map<string, NodeSlot>();
  private readonly multipleRegistrations: boolean;
  private readonly maxBuffered: number;

  constructor(options: ClusterStateOptions = {}) {
    this.multipleRegistrations = options.multipleRegistrations ?? false;
    this.maxBuffered = options.maxBufferedEvents ?? 100_000;
    for (const node of options.nodes ?? []) this.slot(node, 0);
  }

  /** Applies one input; returns the changes it made (in order). */
  apply(input: ClusterInput): ClusterChange[] {
    if (input.type === 'event') return this.applyEvent(input.node, input.event);
    const slot = this.slot(input.node, input.at);
    switch (input.type) {
      case 'connecting':
      case 'down': {
        const changes = slot.state.clear();
        slot.buffer = undefined;
        changes.push(
          this.setStatus(slot, input.type, input.at, input.type === 'down' ? input.error : undefined),
        );
        return changes;
      }
      case 'syncing':
        slot.buffer = [];
        return [this.setStatus(slot, 'syncing', input.at, slot.info.error)];
      case 'snapshot': {
        const changes = slot.state.applySnapshot(input.snapshot);
        const held = slot.buffer ?? [];
        slot.buffer = undefined;
        for (const event of held) slot.state.applyEvent(event, input.at, changes);
        slot.info = {
          ...slot.info,
          callcenter: input.snapshot.callcenter !== undefined,
          snapshots: slot.info.snapshots + 1,
          events: slot.info.events + held.length,
        };
        changes.push(this.setStatus(slot, 'up', input.at, undefined));
        return changes;
      }
    }
  }

  /** Every node and its status, in the order they were first seen. */
  nodes(): ClusterNode[] {
    return [...this.slots.values()].map((s) => ({ ...s.info }));
  }

  /** One node's status. */
  node(name: string): ClusterNode | undefined {
    const slot = this.slots.get(name);
    return slot ? { ...slot.info } : undefined;
  }

  /** Registrations of the nodes that are up. */
  registrations(query: ClusterQuery = {}): RegistrationEntry[] {
    return this.collect(
      query.node,
      'registration',
      (r) => matches(query.user, r.user) && matches(query.domain, r.realm),
    );
  }

  /** Channels (legs) of the nodes that are up. */
  channels(query: ClusterQuery = {}): ChannelEntry[] {
    return this.collect(query.node, 'channel', (c) => channelMatches(c, query));
  }

  /** The channel with this uuid, on whichever node holds it. */
  channel(uuid: string): ChannelEntry | undefined {
    for (const slot of this.slots.values()) {
      const entry = slot.state.maps.channel.get(uuid);
      if (entry) return entry;
    }
    return undefined;
  }

  /**
   * Calls: each a-leg (a channel whose call uuid is empty or its own) with the legs bridged to it. A call
   * matches a user or domain when any of its legs does.
   */
  calls(query: ClusterQuery = {}): CallEntry[] {
    const out: CallEntry[] = [];
    for (const slot of this.liveSlots(query.node)) {
      const byCall = new Map<string, CallEntry>();
      const channels = slot.state.maps.channel;
      for (const c of channels.values()) {
        const a = c.callUuid && c.callUuid !== c.uuid && channels.has(c.callUuid) ? c.callUuid : c.uuid;
        let call = byCall.get(a);
        if (!call) {
          call = { node: slot.info.node, uuid: a, legs: [] };
          byCall.set(a, call);
        }
        if (c.uuid === a) call.legs.unshift(c);
        else call.legs.push(c);
      }
      for (const call of byCall.values()) {
        if (!query.user && !query.domain) out.push(call);
        else if (call.legs.some((leg) => channelMatches(leg, query))) out.push(call);
      }
    }
    return out;
  }

  /** The call one of whose legs has this uuid. */
  call(uuid: string): CallEntry | undefined {
    const leg = this.channel(uuid);
    if (!leg) return undefined;
    return this.calls({ node: leg.node }).find((c) => c.legs.some((l) => l.uuid === uuid));
  }

  /** mod_callcenter queues. */
  queues(query: CallcenterQuery = {}): QueueEntry[] {
    return this.collect(
      query.node,
      'queue',
      (q) => matches(query.queue, q.name) && matches(query.domain, domainOf(q.name)),
    );
  }

  /** mod_callcenter agents; with `queue`, those with a tier in that queue. */
  agents(query: CallcenterQuery = {}): AgentEntry[] {
    return this.collect(query.node, 'agent', (a) => {
      if (!matches(query.domain, domainOf(a.name))) return false;
      if (!query.queue) return true;
      for (const t of this.slots.get(a.node)?.state.maps.tier.values() ?? [])
        if (t.agent === a.name && t.queue === query.queue) return true;
      return false;
    });
  }

  /** mod_callcenter tiers. */
  tiers(query: CallcenterQuery = {}): TierEntry[] {
    return this.inQueue('tier', query);
  }

  /** Callers waiting in (or being served by) mod_callcenter queues. */
  members(query: CallcenterQuery = {}): MemberEntry[] {
    return this.inQueue('member', query);
  }

  private inQueue<K extends 'tier' | 'member'>(kind: K, query: CallcenterQuery) {
    return this.collect(
      query.node,
      kind,
      (e) => matches(query.queue, e.queue) && matches(query.domain, domainOf(e.queue)),
    );
  }

  private applyEvent(node: string, event: ClusterEventInput): ClusterChange[] {
    const slot = this.slots.get(node);
    if (!slot) return [];
    if (slot.buffer) {
      if (slot.buffer.length >= this.maxBuffered) slot.buffer.shift();
      slot.buffer.push(event);
      return [];
    }
    if (slot.info.status !== 'up') return [];
    slot.info.events++;
    const out: ClusterChange[] = [];
    slot.state.applyEvent(event, slot.info.since, out);
    return out;
  }

  private slot(node: string, at: number): NodeSlot {
    let slot = this.slots.get(node);
    if (!slot) {
      slot = {
        info: { node, status: 'connecting', since: at, callcenter: false, snapshots: 0, events: 0 },
        state: new NodeState(node, this.multipleRegistrations),
        buffer: undefined,
      };
      this.slots.set(node, slot);
    }
    return slot;
  }

  private setStatus(
    slot: NodeSlot,
    status: ClusterNodeStatus,
    at: number,
    error: string | undefined,
  ): ClusterChange {
    const since = slot.info.status === status ? slot.info.since : at;
    slot.info = { ...slot.info, status, since, error };
    return { kind: 'node', op: 'update', node: slot.info.node, key: slot.info.node, entry: { ...slot.info } };
  }

  /** Slots whose entries are live: up, or re-syncing after having been up (their entries are still vouched for). */
  private *liveSlots(node: string | undefined): Iterable<NodeSlot> {
    for (const slot of this.slots.values()) {
      if (node !== undefined && slot.info.node !== node) continue;
      if (slot.info.status === 'up' || slot.info.status === 'syncing') yield slot;
    }
  }

  private collect<K extends ClusterEntryKind>(
    node: string | undefined,
    kind: K,
    keep: (entry: ClusterEntryKinds[K]) => boolean,
  ): Array<ClusterEntryKinds[K]> {
    const out: Array<ClusterEntryKinds[K]> = [];
    for (const slot of this.liveSlots(node)) {
      for (const entry of (slot.state.maps[kind] as Map<string, ClusterEntryKinds[K]>).values())
        if (keep(entry)) out.push(entry);
    }
    return out;
  }
}

function matches(wanted: string | undefined, value: string): boolean {
  return wanted === undefined || wanted === '' || wanted === value;
}

function channelMatches(c: ChannelEntry, query: ClusterQuery): boolean {
  if (!query.user && !query.domain) return true;
  if (!c.presenceId) return false;
  return matches(query.user, userOf(c.presenceId)) && matches(query.domain, domainOf(c.presenceId));
}

import {
  agentFromRow,
  channelFromEvent,
  channelFromRow,
  type Headers,
  linkCallRows,
  memberFromEvent,
  memberFromRow,
  queueFromRow,
  registrationFromEvent,
  registrationFromRow,
  tierFromRow,
} from './entries.js';
import type {
  AgentEntry,
  ClusterChange,
  ClusterEntryKind,
  ClusterEntryKinds,
  ClusterEventInput,
  MemberEntry,
  NodeSnapshot,
  QueueEntry,
  RegistrationEntry,
  TierEntry,
} from './types.js';

/** Every entry map of a node, by kind. */
export type NodeMaps = { [K in ClusterEntryKind]: Map<string, ClusterEntryKinds[K]> };

export const registrationKey = (r: Pick<RegistrationEntry, 'user' | 'realm' | 'callId'>): string =>
  `${r.user}@${r.realm}|${r.callId}`;
const tierKey = (t: Pick<TierEntry, 'queue' | 'agent'>): string => `${t.queue}|${t.agent}`;

export function emptyMaps(): NodeMaps {
  return {
    registration: new Map(),
    channel: new Map(),
    queue: new Map(),
    agent: new Map(),
    tier: new Map(),
    member: new Map(),
  };
}

/**
 * The entries of one node and how events change them. Pure: it is handed rows and events and returns the
 * changes, it never asks anything.
 */
export class NodeState {
  maps: NodeMaps = emptyMaps();

  constructor(
    readonly node: string,
    private readonly multipleRegistrations: boolean,
  ) {}

  /** Replaces everything with a snapshot; the changes say what differs from before. */
  applySnapshot(snapshot: NodeSnapshot): ClusterChange[] {
    const node = this.node;
    const next = emptyMaps();
    for (const row of snapshot.registrations) {
      const entry = registrationFromRow(node, row);
      next.registration.set(registrationKey(entry), entry);
    }
    for (const row of snapshot.channels) next.channel.set(row.uuid, channelFromRow(node, row));
    linkCallRows(next.channel, snapshot.calls);
    const cc = snapshot.callcenter;
    if (cc) {
      for (const row of cc.members) {
        const entry = memberFromRow(node, row);
        next.member.set(entry.uuid, entry);
      }
      for (const row of cc.queues) {
        const name = row.name ?? '';
        let waiting = 0;
        for (const m of next.member.values()) if (m.queue === name) waiting++;
        next.queue.set(name, queueFromRow(node, row, waiting));
      }
      for (const row of cc.agents) {
        const entry = agentFromRow(node, row);
        next.agent.set(entry.name, entry);
      }
      for (const row of cc.tiers) {
        const entry = tierFromRow(node, row);
        next.tier.set(tierKey(entry), entry);
      }
    }
    const changes: ClusterChange[] = [];
    for (const kind of Object.keys(next) as ClusterEntryKind[]) {
      const before = this.maps[kind] as Map<string, unknown>;
      const after = next[kind] as Map<string, unknown>;
      for (const [key, entry] of before) {
        if (!after.has(key)) changes.push(change(kind, 'remove', node, key, entry));
      }
      for (const [key, entry] of after) {
        const old = before.get(key);
        if (old === undefined) changes.push(change(kind, 'add', node, key, entry));
        else if (JSON.stringify(old) !== JSON.stringify(entry))
          changes.push(change(kind, 'update', node, key, entry));
      }
    }
    this.maps = next;
    return changes;
  }

  /** Removes every entry (the node went down): one `remove` per entry. */
  clear(): ClusterChange[] {
    const changes: ClusterChange[] = [];
    for (const kind of Object.keys(this.maps) as ClusterEntryKind[]) {
      for (const [key, entry] of this.maps[kind] as Map<string, unknown>)
        changes.push(change(kind, 'remove', this.node, key, entry));
    }
    this.maps = emptyMaps();
    return changes;
  }

  /** Applies one event; events the view does not use change nothing. `atMs` stands in for a missing date. */
  applyEvent(event: ClusterEventInput, atMs: number, out: ClusterChange[]): void {
    const name = event.name;
    if (name !== 'CUSTOM' && !name.startsWith('CHANNEL_')) return;
    const h = headersOf(event);
    if (name !== 'CUSTOM') this.channelEvent(name, h, out);
    else {
      const subclass = event.subclass ?? h.get('Event-Subclass');
      if (subclass === 'callcenter::info') this.callcenterEvent(h, atMs, out);
      else if (subclass === 'sofia::register') this.register(h, atMs, out);
      else if (subclass === 'sofia::unregister' || subclass === 'sofia::expire') this.unregister(h, out);
    }
  }

  private channelEvent(name: string, h: Headers, out: ClusterChange[]): void {
    const uuid = h.get('Unique-ID');
    if (!uuid) return;
    const channels = this.maps.channel;
    const previous = channels.get(uuid);
    if (name === 'CHANNEL_DESTROY') {
      if (previous) {
        channels.delete(uuid);
        out.push({ kind: 'channel', op: 'remove', node: this.node, key: uuid, entry: previous });
      }
      return;
    }
    // Only CHANNEL_CREATE brings a channel in: FreeSWITCH sends CHANNEL_STATE (CS_DESTROY) after
    // CHANNEL_DESTROY, which must not bring it back.
    if (!previous && name !== 'CHANNEL_CREATE') return;
    const entry = channelFromEvent(this.node, h, previous);
    channels.set(uuid, entry);
    out.push({ kind: 'channel', op: previous ? 'update' : 'add', node: this.node, key: uuid, entry });
  }

  private register(h: Headers, atMs: number, out: ClusterChange[]): void {
    const entry = registrationFromEvent(this.node, h, atMs);
    if (!entry.user) return;
    const regs = this.maps.registration;
    // Without multiple registrations FreeSWITCH keeps one binding per user: a new one replaces the others.
    if (!this.multipleRegistrations) {
      for (const [key, old] of regs) {
        if (old.user === entry.user && old.realm === entry.realm && old.callId !== entry.callId) {
          regs.delete(key);
          out.push({ kind: 'registration', op: 'remove', node: this.node, key, entry: old });
        }
      }
    }
    const key = registrationKey(entry);
    const op = regs.has(key) ? 'update' : 'add';
    regs.set(key, entry);
    out.push({ kind: 'registration', op, node: this.node, key, entry });
  }

  /** `sofia::unregister` (from-user/from-host) and `sofia::expire` (user/host); without a call-id, all of the user's. */
  private unregister(h: Headers, out: ClusterChange[]): void {
    const user = h.get('from-user') ?? h.get('user');
    const realm = h.get('from-host') ?? h.get('host');
    const callId = h.get('call-id');
    for (const [key, old] of this.maps.registration) {
      if (old.user === user && old.realm === realm && (!callId || old.callId === callId)) {
        this.maps.registration.delete(key);
        out.push({ kind: 'registration', op: 'remove', node: this.node, key, entry: old });
      }
    }
  }

  private callcenterEvent(h: Headers, atMs: number, out: ClusterChange[]): void {
    const action = h.get('CC-Action');
    const agentName = h.get('CC-Agent') ?? '';
    switch (action) {
      case 'agent-status-change':
        this.updateAgent(agentName, { status: h.get('CC-Agent-Status') ?? '' }, out);
        return;
      case 'agent-state-change':
        this.updateAgent(agentName, { state: h.get('CC-Agent-State') ?? '' }, out);
        return;
      case 'member-queue-start': {
        const entry = memberFromEvent(this.node, h, atMs);
        if (!entry.uuid) return;
        const op = this.maps.member.has(entry.uuid) ? 'update' : 'add';
        this.maps.member.set(entry.uuid, entry);
        out.push({ kind: 'member', op, node: this.node, key: entry.uuid, entry });
        return;
      }
      case 'agent-offering':
        this.updateMember(h.get('CC-Member-UUID'), { state: 'Trying' }, out);
        return;
      case 'bridge-agent-start':
        this.updateMember(h.get('CC-Member-UUID'), { state: 'Answered', servingAgent: agentName }, out);
        return;
      case 'bridge-agent-fail':
        this.updateMember(h.get('CC-Member-UUID'), { state: 'Waiting', servingAgent: '' }, out);
        return;
      case 'member-queue-end': {
        const uuid = h.get('CC-Member-UUID') ?? '';
        const old = this.maps.member.get(uuid);
        if (!old) return;
        this.maps.member.delete(uuid);
        out.push({ kind: 'member', op: 'remove', node: this.node, key: uuid, entry: old });
        return;
      }
      case 'members-count': {
        const queue = this.maps.queue.get(h.get('CC-Queue') ?? '');
        if (!queue) return;
        const entry: QueueEntry = { ...queue, members: Number(h.get('CC-Count')) || 0 };
        this.maps.queue.set(queue.name, entry);
        out.push({ kind: 'queue', op: 'update', node: this.node, key: queue.name, entry });
        return;
      }
    }
  }

  private updateAgent(name: string, patch: Partial<AgentEntry>, out: ClusterChange[]): void {
    if (!name) return;
    const old = this.maps.agent.get(name);
    // An agent added after the snapshot (`callcenter_config agent add` fires no event) appears on its first change.
    const entry: AgentEntry = {
      ...(old ?? { node: this.node, name, status: '', state: '', contact: '', type: '', row: {} }),
      ...patch,
    };
    this.maps.agent.set(name, entry);
    out.push({ kind: 'agent', op: old ? 'update' : 'add', node: this.node, key: name, entry });
  }

  private updateMember(uuid: string | undefined, patch: Partial<MemberEntry>, out: ClusterChange[]): void {
    const old = uuid ? this.maps.member.get(uuid) : undefined;
    if (!old || !uuid) return;
    const entry: MemberEntry = { ...old, ...patch };
    this.maps.member.set(uuid, entry);
    out.push({ kind: 'member', op: 'update', node: this.node, key: uuid, entry });
  }
}

function change(
  kind: ClusterEntryKind,
  op: 'add' | 'update' | 'remove',
  node: string,
  key: string,
  entry: unknown,
): ClusterChange {
  return { kind, op, node, key, entry } as ClusterChange;
}

/** The headers of an event: its `headerMap` when it has one (an `EslEvent`), else its headers object. */
function headersOf(event: ClusterEventInput): Headers {
  if (event.headerMap) return event.headerMap;
  const headers = event.headers;
  return { get: (name) => headers[name] };
}

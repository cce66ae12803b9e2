import type { CallRow, ChannelRow, RegistrationRow } from '../realtime.js';

/** Where a node of a {@link FreeSwitchCluster} is: `syncing` = connected, its snapshot is being taken. */
export type ClusterNodeStatus = 'connecting' | 'syncing' | 'up' | 'down';

/** A node as the view reports it. */
export interface ClusterNode {
  node: string;
  status: ClusterNodeStatus;
  /** When it entered this status (ms since the epoch). */
  since: number;
  /** Why it is down (or why its last snapshot failed). */
  error?: string | undefined;
  /** Whether mod_callcenter answered at the last snapshot. */
  callcenter: boolean;
  /** Snapshots applied since the view started (1 after the first, +1 per reconnection). */
  snapshots: number;
  /** Events applied since the view started. */
  events: number;
}

/** A SIP registration of one node (`show registrations` row or `sofia::register` event). */
export interface RegistrationEntry {
  node: string;
  user: string;
  /** The domain (`realm` column, `from-host` of the event). */
  realm: string;
  /** SIP Call-ID of the REGISTER (`token` column): one user may hold several. */
  callId: string;
  /** `sofia/<profile>/sip:...` from the snapshot, the Contact header from an event. */
  contact: string;
  /** When it expires, seconds since the epoch (0 = never). */
  expires: number;
  networkIp: string;
  networkPort: string;
  networkProto: string;
  profile?: string | undefined;
  userAgent?: string | undefined;
}

/** A channel (one leg) of one node. */
export interface ChannelEntry {
  node: string;
  uuid: string;
  direction: string;
  name: string;
  /** `CS_EXECUTE`, ... */
  state: string;
  /** `RINGING`, `ACTIVE`, `HELD`, ... */
  callState: string;
  cidName: string;
  cidNum: string;
  dest: string;
  context: string;
  /** `user@domain` of the channel (`presence_id`), `''` when none. */
  presenceId: string;
  /** The a-leg's uuid once bridged (`call_uuid`); `''` or its own uuid for an a-leg. */
  callUuid: string;
  /** Created, seconds since the epoch. */
  created: number;
  application: string;
  accountcode: string;
}

/** A call: an a-leg and the legs bridged to it (FreeSWITCH's `show calls` groups channels the same way). */
export interface CallEntry {
  node: string;
  uuid: string;
  legs: ChannelEntry[];
}

/** A mod_callcenter queue (`callcenter_config queue list`), with its waiting count from `members-count`. */
export interface QueueEntry {
  node: string;
  name: string;
  strategy: string;
  /** Members waiting or being served, as the view counts them. */
  members: number;
  /** The raw row, every column as FreeSWITCH sends it. */
  row: Record<string, string>;
}

/** A mod_callcenter agent. */
export interface AgentEntry {
  node: string;
  name: string;
  /** `Available`, `On Break`, `Logged Out`, ... */
  status: string;
  /** `Waiting`, `Receiving`, `In a queue call`, ... */
  state: string;
  contact: string;
  type: string;
  row: Record<string, string>;
}

/** A tier: which agent serves which queue, at which level and position. */
export interface TierEntry {
  node: string;
  queue: string;
  agent: string;
  state: string;
  level: number;
  position: number;
}

/** A caller in a mod_callcenter queue. */
export interface MemberEntry {
  node: string;
  queue: string;
  uuid: string;
  sessionUuid: string;
  cidNumber: string;
  cidName: string;
  /** `Waiting`, `Trying`, `Answered`. */
  state: string;
  servingAgent: string;
  /** Joined, seconds since the epoch. */
  joined: number;
}

/** The kinds of entries the view holds, by name. */
export interface ClusterEntryKinds {
  registration: RegistrationEntry;
  channel: ChannelEntry;
  queue: QueueEntry;
  agent: AgentEntry;
  tier: TierEntry;
  member: MemberEntry;
}

export type ClusterEntryKind = keyof ClusterEntryKinds;

/** One change of the view. `entry` is the new value (`add`, `update`) or the last one (`remove`). */
export type ClusterChange =
  | {
      [K in ClusterEntryKind]: {
        kind: K;
        op: 'add' | 'update' | 'remove';
        node: string;
        key: string;
        entry: ClusterEntryKinds[K];
      };
    }[ClusterEntryKind]
  | { kind: 'node'; op: 'update'; node: string; key: string; entry: ClusterNode };

/** The answers of `show ... as json` and `callcenter_config ... list` a node gave, the start of its state. */
export interface NodeSnapshot {
  channels: ChannelRow[];
  calls: CallRow[];
  registrations: RegistrationRow[];
  /** Undefined when mod_callcenter is not loaded on the node. */
  callcenter?:
    | {
        queues: Record<string, string>[];
        agents: Record<string, string>[];
        tiers: Record<string, string>[];
        members: Record<string, string>[];
      }
    | undefined;
}

/** What the view reads of an event: an {@link EslEvent} fits, and so does a plain object in a test. */
export interface ClusterEventInput {
  readonly name: string;
  readonly subclass?: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** The same headers as a map; read instead of `headers` when present (an `EslEvent` decodes it faster). */
  readonly headerMap?: ReadonlyMap<string, string>;
}

/** What the state machine is fed. `at` is the time it happened, ms since the epoch. */
export type ClusterInput =
  | { type: 'connecting'; node: string; at: number }
  | { type: 'syncing'; node: string; at: number }
  | { type: 'snapshot'; node: string; at: number; snapshot: NodeSnapshot }
  | { type: 'event'; node: string; event: ClusterEventInput }
  | { type: 'down'; node: string; at: number; error?: string | undefined };

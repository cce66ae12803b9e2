// Columns of `callcenter_config ... list`, in FreeSWITCH 1.10's order (captured: fixtures/fs-modules/esl/52).
const QUEUE_COLUMNS = [
  'name',
  'strategy',
  'moh_sound',
  'time_base_score',
  'tier_rules_apply',
  'tier_rule_wait_second',
  'tier_rule_wait_multiply_level',
  'tier_rule_no_agent_no_wait',
  'discard_abandoned_after',
  'abandoned_resume_allowed',
  'max_wait_time',
  'max_wait_time_with_no_agent',
  'max_wait_time_with_no_agent_time_reached',
  'record_template',
  'calls_answered',
  'calls_abandoned',
  'ring_progressively_delay',
  'skip_agents_with_external_calls',
  'agent_no_answer_status',
];
const AGENT_COLUMNS = [
  'name',
  'instance_id',
  'uuid',
  'type',
  'contact',
  'status',
  'state',
  'max_no_answer',
  'wrap_up_time',
  'reject_delay_time',
  'busy_delay_time',
  'no_answer_delay_time',
  'last_bridge_start',
  'last_bridge_end',
  'last_offered_call',
  'last_status_change',
  'no_answer_count',
  'calls_answered',
  'talk_time',
  'ready_time',
  'external_calls_count',
];
const MEMBER_COLUMNS = [
  'queue',
  'instance_id',
  'uuid',
  'session_uuid',
  'cid_number',
  'cid_name',
  'system_epoch',
  'joined_epoch',
  'rejoined_epoch',
  'bridge_epoch',
  'abandoned_epoch',
  'base_score',
  'skill_score',
  'serving_agent',
  'serving_system',
  'state',
  'score',
];
const TIER_COLUMNS = ['queue', 'agent', 'state', 'level', 'position'];

const QUEUE_DEFAULTS: Record<string, string> = {
  strategy: 'longest-idle-agent',
  moh_sound: 'local_stream://moh',
  time_base_score: 'system',
  tier_rules_apply: 'false',
  tier_rule_wait_second: '300',
  tier_rule_wait_multiply_level: 'true',
  tier_rule_no_agent_no_wait: 'false',
  discard_abandoned_after: '60',
  abandoned_resume_allowed: 'false',
  max_wait_time: '0',
  max_wait_time_with_no_agent: '0',
  max_wait_time_with_no_agent_time_reached: '5',
  record_template: '',
  calls_answered: '0',
  calls_abandoned: '0',
  ring_progressively_delay: '0',
  skip_agents_with_external_calls: 'true',
  agent_no_answer_status: 'On Break',
};
const AGENT_DEFAULTS: Record<string, string> = {
  instance_id: 'single_box',
  uuid: '',
  type: 'callback',
  status: 'Logged Out',
  state: 'Waiting',
  ...Object.fromEntries(AGENT_COLUMNS.slice(7).map((c) => [c, '0'])),
};

type Row = Record<string, string>;

/**
 * mod_callcenter in the fake: queues, agents, tiers and members, answered by `callcenter_config ... list` in
 * the real format (a `|` header line, rows, then `+OK` inside the body), and `agent set status|state`, which
 * fire the `callcenter::info` event FreeSWITCH fires.
 */
export class FakeCallcenter {
  readonly queues: Row[] = [];
  readonly agents: Row[] = [];
  readonly tiers: Row[] = [];
  readonly members: Row[] = [];

  constructor(private readonly fire: (headers: Record<string, string>) => void) {}

  addQueue(name: string, columns: Row = {}): this {
    this.queues.push({ ...QUEUE_DEFAULTS, ...columns, name });
    return this;
  }

  addAgent(name: string, columns: Row = {}): this {
    this.agents.push({ ...AGENT_DEFAULTS, contact: `user/${name}`, ...columns, name });
    return this;
  }

  addTier(queue: string, agent: string, level = 1, position = 1): this {
    this.tiers.push({ queue, agent, state: 'Ready', level: String(level), position: String(position) });
    return this;
  }

  /**
   * A caller joins a queue: the member row, then `member-queue-start` and `members-count`. `columns` overrides
   * row values (`joined_epoch`, `score`, ...).
   */
  addMember(
    queue: string,
    member: { uuid: string; sessionUuid: string; cidNumber: string; cidName: string },
    columns: Row = {},
  ): this {
    const now = String(Math.floor(Date.now() / 1000));
    this.members.push({
      ...Object.fromEntries(MEMBER_COLUMNS.slice(8, 13).map((c) => [c, '0'])),
      serving_agent: '',
      serving_system: '',
      score: '0',
      queue,
      instance_id: 'single_box',
      uuid: member.uuid,
      session_uuid: member.sessionUuid,
      cid_number: member.cidNumber,
      cid_name: member.cidName,
      system_epoch: now,
      joined_epoch: now,
      state: 'Waiting',
      ...columns,
    });
    this.fire({
      'CC-Queue': queue,
      'CC-Action': 'member-queue-start',
      'CC-Member-UUID': member.uuid,
      'CC-Member-Session-UUID': member.sessionUuid,
      'CC-Member-CID-Name': member.cidName,
      'CC-Member-CID-Number': member.cidNumber,
    });
    this.fireCount(queue);
    return this;
  }

  /** `api callcenter_config <args>`. */
  api(args: string): string {
    const words = args.split(' ');
    const [what, verb, third] = words;
    if (
      what === 'queue' &&
      verb === 'list' &&
      (third === 'members' || third === 'agents' || third === 'tiers')
    ) {
      const queue = words[3] ?? '';
      if (third === 'members')
        return list(
          MEMBER_COLUMNS,
          this.members.filter((m) => m.queue === queue),
        );
      if (third === 'tiers')
        return list(
          TIER_COLUMNS,
          this.tiers.filter((t) => t.queue === queue),
        );
      const names = new Set(this.tiers.filter((t) => t.queue === queue).map((t) => t.agent));
      // `queue list agents <queue> [status]`: only agents in that status (`Available`, `'On Break'`).
      const status = unquote(words.slice(4).join(' '));
      const agents = this.agents.filter((a) => names.has(a.name ?? '') && (!status || a.status === status));
      return list(AGENT_COLUMNS, agents);
    }
    if (what === 'queue' && verb === 'list') return list(QUEUE_COLUMNS, this.queues);
    if (what === 'agent' && verb === 'list')
      return list(AGENT_COLUMNS, third ? this.agents.filter((a) => a.name === third) : this.agents);
    if (what === 'tier' && verb === 'list') return list(TIER_COLUMNS, this.tiers);
    if (what === 'agent' && verb === 'set' && (third === 'status' || third === 'state')) {
      const name = words[3] ?? '';
      // Quoted values ('On Break') arrive with their quotes, as FreeSWITCH's argument splitter keeps words.
      const value = words
        .slice(4)
        .join(' ')
        .replace(/^'(.*)'$/, '$1');
      const agent = this.agents.find((a) => a.name === name);
      if (!agent) return '-ERR Invalid Agent!\n';
      agent[third] = value;
      const action = third === 'status' ? 'agent-status-change' : 'agent-state-change';
      this.fire({
        'CC-Agent': name,
        'CC-Action': action,
        [third === 'status' ? 'CC-Agent-Status' : 'CC-Agent-State']: value,
      });
      return '+OK\n';
    }
    return '-ERR Unknown Command\n';
  }

  private fireCount(queue: string): void {
    const count = this.members.filter((m) => m.queue === queue).length;
    this.fire({
      'CC-Queue': queue,
      'CC-Action': 'members-count',
      'CC-Count': String(count),
      'CC-Selection': 'Single-Queue',
    });
  }
}

/** mod_callcenter prints the header line with the first row: an empty list is `+OK` alone (captured). */
function list(columns: string[], rows: Row[]): string {
  if (rows.length === 0) return '+OK\n';
  const lines = [columns.join('|'), ...rows.map((row) => columns.map((c) => row[c] ?? '').join('|'))];
  return `${lines.join('\n')}\n+OK\n`;
}

const unquote = (text: string): string => text.replace(/^'(.*)'$/, '$1');

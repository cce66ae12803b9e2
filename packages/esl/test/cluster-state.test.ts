import { describe, expect, it } from 'vitest';
import {
  type CallRow,
  type ChannelRow,
  type ClusterChange,
  ClusterState,
  EslEvent,
  EslParser,
  type NodeSnapshot,
  parseCallcenterList,
  parseShowJson,
} from '../src/index.js';
import { capturedApiReplies, capturedEvents, registerHeaders } from './cluster-fixtures.js';
import { eslFixture } from './fixtures.js';

const T0 = Date.UTC(2026, 11, 2, 12, 0, 0);
const EMPTY: NodeSnapshot = { channels: [], calls: [], registrations: [] };

/** `show channels as json` while two loopback calls were up (fixtures/esl/06). */
function capturedChannels(): ChannelRow[] {
  const reply = new EslParser()
    .feed(eslFixture('06-api-show-channels-as-json-active.txt'))
    .find((f) => f.contentType === 'api/response');
  return parseShowJson<ChannelRow>(reply?.bodyText ?? '', 'show channels as json');
}

/** The callcenter lists FreeSWITCH answered while a member waited in support@default (fs-modules/esl/52). */
function capturedCallcenter(): NonNullable<NodeSnapshot['callcenter']> {
  const replies = capturedApiReplies(
    ['fs-modules', 'esl'],
    '52-api-callcenter-config-lists-with-waiting-member',
  );
  const list = (command: string) => parseCallcenterList(replies.get(command) ?? '', command);
  return {
    queues: list('callcenter_config queue list'),
    agents: list('callcenter_config agent list'),
    tiers: list('callcenter_config tier list'),
    members: list('callcenter_config queue list members support@default'),
  };
}

function up(state: ClusterState, node: string, snapshot: NodeSnapshot = EMPTY): ClusterChange[] {
  state.apply({ type: 'syncing', node, at: T0 });
  return state.apply({ type: 'snapshot', node, at: T0, snapshot });
}

const feed = (state: ClusterState, node: string, events: EslEvent[]) =>
  events.flatMap((event) => state.apply({ type: 'event', node, event }));

describe('callcenter_config lists', () => {
  it('parses the captured lists into rows, without the trailing +OK', () => {
    const cc = capturedCallcenter();
    expect(cc.queues.map((q) => [q.name, q.strategy])).toEqual([['support@default', 'longest-idle-agent']]);
    expect(cc.agents.map((a) => [a.name, a.status, a.state])).toEqual([
      ['agent-a@default', 'Logged Out', 'Waiting'],
      ['agent-b@default', 'Logged Out', 'Waiting'],
    ]);
    expect(cc.members[0]).toMatchObject({
      cid_name: 'Member One',
      state: 'Waiting',
      queue: 'support@default',
    });
    expect(cc.queues[0]?.moh_sound).toBe('tone_stream://%(1000,4000,440);loops=-1');
  });

  it('reads an empty list, which mod_callcenter answers with +OK alone (no header line)', () => {
    const replies = capturedApiReplies(
      ['fs-modules', 'esl'],
      '52-api-callcenter-config-lists-with-waiting-member',
    );
    const command = 'callcenter_config queue list agents support@default Available';
    expect(replies.get(command)).toBe('+OK\n');
    expect(parseCallcenterList(replies.get(command) ?? '', command)).toEqual([]);
  });

  it('names the command when the answer is not a list', () => {
    expect(() =>
      parseCallcenterList('-ERR callcenter_config Command not found!\n', 'callcenter_config agent list'),
    ).toThrow(/callcenter_config agent list: -ERR/);
    expect(() => parseCallcenterList('name|status\n', 'callcenter_config agent list')).toThrow(/\+OK/);
  });
});

describe('ClusterState', () => {
  it('builds channels and calls from a captured show channels snapshot, tagged with the node', () => {
    const state = new ClusterState();
    const changes = up(state, 'fs1', { ...EMPTY, channels: capturedChannels() });
    expect(changes.filter((c) => c.kind === 'channel' && c.op === 'add')).toHaveLength(4);
    expect(state.channels().every((c) => c.node === 'fs1')).toBe(true);
    expect(state.channel('2615bc64-51f8-4b45-af47-7642ddaa720d')).toMatchObject({
      name: 'loopback/7600-a',
      callState: 'ACTIVE',
    });
    // loopback/7501-a and loopback/7600-a share call_uuid ...7a1: one call of two legs.
    const call = state.call('2615bc64-51f8-4b45-af47-7642ddaa720d');
    expect(call?.uuid).toBe('a1b2c3d4-0000-4000-8000-0000000007a1');
    expect(call?.legs.map((l) => l.name)).toEqual(['loopback/7501-a', 'loopback/7600-a']);
    expect(state.calls()).toHaveLength(3);
  });

  it('links a b-leg through show calls when show channels had no call uuid for it', () => {
    const [a, b] = capturedChannels().slice(0, 2) as [ChannelRow, ChannelRow];
    const channels = [
      { ...a, call_uuid: '' },
      { ...b, call_uuid: '' },
    ];
    const calls = [{ ...a, b_uuid: b.uuid, call_created_epoch: '1' } as CallRow];
    const state = new ClusterState();
    up(state, 'fs1', { ...EMPTY, channels, calls });
    expect(state.calls().map((c) => c.legs.length)).toEqual([2]);
  });

  it('follows a captured call from CHANNEL_CREATE to CHANNEL_DESTROY (fixtures/esl/12, event plain ALL)', () => {
    const state = new ClusterState();
    up(state, 'fs1');
    const events = capturedEvents('esl', '12-event-plain-all-during-call.txt');
    const answerAt = events.findIndex((e) => e.name === 'CHANNEL_ANSWER');
    feed(state, 'fs1', events.slice(0, answerAt + 2));
    expect(
      state
        .channels()
        .map((c) => c.name)
        .sort(),
    ).toEqual(['loopback/7100-a', 'loopback/7100-b']);
    expect(state.channel('a1b2c3d4-0000-4000-8000-000000000712')?.callState).toBe('ACTIVE');
    const rest = feed(state, 'fs1', events.slice(answerAt + 2));
    // The CHANNEL_STATE that FreeSWITCH sends after CHANNEL_DESTROY does not bring the channel back.
    expect(state.channels()).toEqual([]);
    expect(rest.filter((c) => c.kind === 'channel' && c.op === 'remove')).toHaveLength(2);
  });

  it('follows captured callcenter::info events over the captured lists (fs-modules/esl/51-52)', () => {
    const state = new ClusterState();
    up(state, 'fs1', { ...EMPTY, callcenter: capturedCallcenter() });
    expect(state.node('fs1')?.callcenter).toBe(true);
    expect(state.members({ queue: 'support@default' }).map((m) => m.cidName)).toEqual(['Member One']);
    expect(state.queues()[0]?.members).toBe(1);
    const events = capturedEvents(
      'fs-modules',
      'esl',
      '51-event-custom-callcenter-info-member-waits-agent-status.txt',
    );
    const bridged = events.findIndex((e) => e.headers['CC-Action'] === 'bridge-agent-start');
    feed(state, 'fs1', events.slice(0, bridged + 1));
    expect(state.members()[0]).toMatchObject({ state: 'Answered', servingAgent: 'agent-a@default' });
    expect(state.agents({ queue: 'support@default' }).map((a) => [a.name, a.status])).toEqual([
      ['agent-a@default', 'Available'],
      ['agent-b@default', 'On Break'],
    ]);
    feed(state, 'fs1', events.slice(bridged + 1));
    expect(state.members()).toEqual([]);
    expect(state.queues()[0]?.members).toBe(0);
    expect(state.agents().map((a) => [a.name, a.status, a.state])).toEqual([
      ['agent-a@default', 'Logged Out', 'Waiting'],
      ['agent-b@default', 'On Break', 'Waiting'],
    ]);
    expect(state.tiers({ queue: 'support@default' }).map((t) => t.agent)).toEqual([
      'agent-a@default',
      'agent-b@default',
    ]);
  });

  it('adds, replaces and removes registrations from sofia::register / unregister / expire', () => {
    const state = new ClusterState();
    up(state, 'fs1');
    up(state, 'fs2');
    const at = String(T0 * 1000);
    const ev = (headers: Record<string, string>) =>
      EslEvent.fromHeaders({ ...headers, 'Event-Date-Timestamp': at });
    feed(state, 'fs1', [
      ev(registerHeaders('1000', 'a.example', 'c1')),
      ev(registerHeaders('1001', 'a.example', 'c2')),
    ]);
    feed(state, 'fs2', [ev(registerHeaders('1000', 'b.example', 'c3', 60))]);
    expect(state.registrations({ user: '1000' }).map((r) => [r.node, r.realm])).toEqual([
      ['fs1', 'a.example'],
      ['fs2', 'b.example'],
    ]);
    expect(state.registrations({ domain: 'a.example' })).toHaveLength(2);
    expect(state.registrations({ node: 'fs2' })[0]).toMatchObject({
      expires: T0 / 1000 + 60,
      networkIp: '192.0.2.10',
      networkProto: 'udp',
      profile: 'internal',
      userAgent: 'Linphone/5.2',
    });
    // A new binding of 1000@a.example (another call-id) replaces the old one.
    feed(state, 'fs1', [ev(registerHeaders('1000', 'a.example', 'c9'))]);
    expect(state.registrations({ user: '1000', domain: 'a.example' }).map((r) => r.callId)).toEqual(['c9']);
    feed(state, 'fs1', [
      ev({
        'Event-Name': 'CUSTOM',
        'Event-Subclass': 'sofia::unregister',
        'from-user': '1000',
        'from-host': 'a.example',
        'call-id': 'c9',
      }),
    ]);
    feed(state, 'fs2', [
      ev({
        'Event-Name': 'CUSTOM',
        'Event-Subclass': 'sofia::expire',
        user: '1000',
        host: 'b.example',
        'call-id': 'c3',
      }),
    ]);
    expect(state.registrations().map((r) => `${r.user}@${r.realm}`)).toEqual(['1001@a.example']);
  });

  it('keeps several bindings of one user with multipleRegistrations', () => {
    const state = new ClusterState({ multipleRegistrations: true });
    up(state, 'fs1');
    feed(state, 'fs1', [
      EslEvent.fromHeaders(registerHeaders('1000', 'a.example', 'c1')),
      EslEvent.fromHeaders(registerHeaders('1000', 'a.example', 'c2')),
    ]);
    expect(state.registrations({ user: '1000' })).toHaveLength(2);
  });

  it('reports a down node and shows none of its entries; holds events during a snapshot and applies them after', () => {
    const state = new ClusterState({ nodes: ['fs1', 'fs2'] });
    expect(state.nodes().map((n) => n.status)).toEqual(['connecting', 'connecting']);
    up(state, 'fs1', { ...EMPTY, channels: capturedChannels() });
    up(state, 'fs2', { ...EMPTY, channels: capturedChannels().slice(0, 1) });
    expect(state.channels()).toHaveLength(5);
    const down = state.apply({ type: 'down', node: 'fs1', at: T0 + 5000, error: 'connection reset' });
    expect(down.filter((c) => c.op === 'remove')).toHaveLength(4);
    expect(down.at(-1)).toMatchObject({
      kind: 'node',
      entry: { status: 'down', error: 'connection reset', since: T0 + 5000 },
    });
    expect(state.channels().map((c) => c.node)).toEqual(['fs2']);
    expect(state.channel('2615bc64-51f8-4b45-af47-7642ddaa720d')).toBeUndefined();
    // Events from a down node change nothing.
    expect(feed(state, 'fs1', [EslEvent.fromHeaders(registerHeaders('1', 'd', 'c'))])).toEqual([]);

    // Back: the events that arrive while the snapshot is taken are applied after it.
    state.apply({ type: 'syncing', node: 'fs1', at: T0 + 9000 });
    expect(feed(state, 'fs1', [EslEvent.fromHeaders(registerHeaders('1000', 'a.example', 'c1'))])).toEqual(
      [],
    );
    const back = state.apply({ type: 'snapshot', node: 'fs1', at: T0 + 9500, snapshot: EMPTY });
    expect(back.map((c) => `${c.kind}:${c.op}`)).toEqual(['registration:add', 'node:update']);
    expect(state.node('fs1')).toMatchObject({ status: 'up', snapshots: 2, error: undefined });
    expect(state.registrations({ node: 'fs1' })).toHaveLength(1);
  });

  it('a re-snapshot reports only what differs', () => {
    const state = new ClusterState();
    const channels = capturedChannels();
    up(state, 'fs1', { ...EMPTY, channels });
    const changes = up(state, 'fs1', { ...EMPTY, channels: channels.slice(1) });
    expect(changes.map((c) => `${c.kind}:${c.op}`)).toEqual(['channel:remove', 'node:update']);
  });
});

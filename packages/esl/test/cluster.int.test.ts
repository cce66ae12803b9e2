import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../../../scripts/test-env.js';
import { type ClusterChange, EslClient, FreeSwitchCluster } from '../src/index.js';
import { FakeFreeSwitch } from '../src/testing/index.js';
import { capturedApiReplies } from './cluster-fixtures.js';
import { until } from './cluster-wait.js';
import { eslFixture } from './fixtures.js';

const fakes: FakeFreeSwitch[] = [];
const clients: EslClient[] = [];
let cluster: FreeSwitchCluster | undefined;

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

async function fake(hostname: string, port?: number): Promise<FakeFreeSwitch> {
  const f = await FakeFreeSwitch.start({ hostname, port });
  fakes.push(f);
  return f;
}

function client(f: FakeFreeSwitch): EslClient {
  const c = new EslClient({ port: f.port, password: 'ClueCon', reconnect: { minMs: 50, maxMs: 500 } });
  clients.push(c);
  return c;
}

/** fs1 as the capture fs-modules/esl/52 saw it: support@default, two agents, one caller waiting. */
function loadCapturedCallcenter(f: FakeFreeSwitch): void {
  f.loadCallcenter()
    .addQueue('support@default', { moh_sound: 'tone_stream://%(1000,4000,440);loops=-1' })
    .addAgent('agent-a@default', { contact: 'loopback/ccagent-real/default', wrap_up_time: '2' })
    .addAgent('agent-b@default', { contact: 'loopback/ccagent-real/default' })
    .addTier('support@default', 'agent-a@default', 1, 1)
    .addTier('support@default', 'agent-b@default', 1, 2);
}

async function threeNodes() {
  const fs1 = await fake('fs1');
  const fs2 = await fake('fs2');
  const fs3 = await fake('fs3');
  loadCapturedCallcenter(fs1);
  fs1.register({ user: '1000', domain: 'a.example', callId: 'reg-1000-a' });
  fs2.register({ user: '1000', domain: 'b.example', callId: 'reg-1000-b', transport: 'tcp' });
  fs2.register({ user: '1001', domain: 'b.example' });
  fs1.addChannel({ uuid: 'chan-1', callerIdNumber: '1000', variables: { presence_id: '1000@a.example' } });
  fs2.addChannel({ uuid: 'chan-2', callerIdNumber: '1001', variables: { presence_id: '1001@b.example' } });
  const c = new FreeSwitchCluster({ nodes: { fs1: client(fs1), fs2: client(fs2), fs3: client(fs3) } });
  cluster = c;
  await c.start();
  return { fs1, fs2, fs3, cluster: c };
}

describe('FreeSwitchCluster against three fake FreeSWITCH nodes', () => {
  it('snapshots every node and answers queries by user, domain, uuid and queue, each entry tagged with its node', async () => {
    const { fs2, cluster } = await threeNodes();
    expect(cluster.nodes().map((n) => [n.node, n.status, n.callcenter])).toEqual([
      ['fs1', 'up', true],
      ['fs2', 'up', false],
      ['fs3', 'up', false],
    ]);
    expect(cluster.registrations({ user: '1000' }).map((r) => [r.node, r.realm, r.callId])).toEqual([
      ['fs1', 'a.example', 'reg-1000-a'],
      ['fs2', 'b.example', 'reg-1000-b'],
    ]);
    expect(
      cluster
        .registrations({ domain: 'b.example' })
        .map((r) => r.user)
        .sort(),
    ).toEqual(['1000', '1001']);
    expect(cluster.registrations({ user: '1000', domain: 'b.example' })[0]?.networkProto).toBe('tcp');
    expect(cluster.channel('chan-2')?.node).toBe('fs2');
    expect(cluster.channels({ user: '1000', domain: 'a.example' }).map((c) => c.uuid)).toEqual(['chan-1']);
    expect(cluster.calls({ domain: 'b.example' }).map((c) => c.uuid)).toEqual(['chan-2']);
    expect(cluster.agents({ queue: 'support@default' }).map((a) => [a.node, a.name, a.status])).toEqual([
      ['fs1', 'agent-a@default', 'Logged Out'],
      ['fs1', 'agent-b@default', 'Logged Out'],
    ]);
    expect(cluster.queues()[0]?.row.moh_sound).toBe('tone_stream://%(1000,4000,440);loops=-1');
    // A node without mod_callcenter is asked whether it is loaded, and nothing more.
    expect(
      fs2.received.map((r) => r.command).filter((c) => c.startsWith('api ') && c.includes('callcenter')),
    ).toEqual(['api module_exists mod_callcenter']);
  });

  it('follows live events: registrations, callcenter agent changes, and the captured call replayed', async () => {
    const { fs1, fs2, fs3, cluster } = await threeNodes();
    const seen: ClusterChange[] = [];
    cluster.on('change', (change) => seen.push(change));
    const iterated: ClusterChange[] = [];
    const collecting = (async () => {
      for await (const change of cluster.changes()) iterated.push(change);
    })();

    fs2.register({ user: '2000', domain: 'b.example', callId: 'reg-2000' });
    fs1.unregister('1000', 'a.example');
    fs2.unregister('1001', 'b.example', 'expire');
    fs1.callcenter?.api("agent set status agent-b@default 'On Break'");
    await until(
      cluster,
      'the registrations and agent change',
      () =>
        cluster.registrations({ user: '2000' }).length === 1 &&
        cluster.registrations({ domain: 'a.example' }).length === 0 &&
        cluster.registrations({ user: '1001' }).length === 0 &&
        cluster.agents().find((a) => a.name === 'agent-b@default')?.status === 'On Break',
    );

    // The captured call (fixtures/esl/12): two loopback legs created, answered, hung up, destroyed.
    const written = await fs3.replayEvents(eslFixture('12-event-plain-all-during-call.txt'));
    expect(written).toBeGreaterThan(0);
    await until(
      cluster,
      'the replayed call to end',
      () => seen.filter((c) => c.kind === 'channel' && c.node === 'fs3' && c.op === 'remove').length === 2,
    );
    expect(seen.filter((c) => c.kind === 'channel' && c.node === 'fs3' && c.op === 'add')).toHaveLength(2);
    expect(cluster.channels({ node: 'fs3' })).toEqual([]);

    // The captured callcenter::info events (fs-modules/esl/51): a member waits, is answered by agent-a, leaves.
    await fs1.replayEvents(
      fixture('fs-modules', 'esl', '51-event-custom-callcenter-info-member-waits-agent-status.txt'),
    );
    await until(
      cluster,
      'the replayed member to leave',
      () =>
        seen.some((c) => c.kind === 'member' && c.op === 'remove') &&
        cluster.agents().find((a) => a.name === 'agent-a@default')?.status === 'Logged Out',
    );
    expect(
      seen.filter((c) => c.kind === 'member').map((c) => (c.op === 'remove' ? 'remove' : c.entry.state)),
    ).toEqual(['Waiting', 'Trying', 'Answered', 'remove']);
    expect(cluster.queues()[0]?.members).toBe(0);
    // The async iterator saw the same changes, in the same order, and ends on stop().
    await cluster.stop();
    await collecting;
    expect(iterated).toEqual(seen);
  });

  it('reports a killed node down with none of its entries, then re-snapshots it when it is back', async () => {
    const { fs2, cluster } = await threeNodes();
    const port = fs2.port;
    const nodeStatuses: string[] = [];
    cluster.on('node', (n) => {
      if (n.node === 'fs2') nodeStatuses.push(n.status);
    });
    await fs2.stop();
    fakes.splice(fakes.indexOf(fs2), 1);
    await until(cluster, 'fs2 down', () => cluster.nodes()[1]?.status === 'down');
    expect(cluster.registrations({ node: 'fs2' })).toEqual([]);
    expect(cluster.channel('chan-2')).toBeUndefined();
    expect(cluster.registrations({ user: '1000' }).map((r) => r.node)).toEqual(['fs1']);
    expect(cluster.nodes()[1]?.error).toBeTruthy();

    // Restarted: another process on the same port, with what it has now.
    const again = await fake('fs2', port);
    again.register({ user: '3000', domain: 'b.example' });
    await until(cluster, 'fs2 back up', () => cluster.nodes()[1]?.status === 'up');
    expect(cluster.nodes()[1]).toMatchObject({ status: 'up', snapshots: 2, error: undefined });
    expect(cluster.registrations({ node: 'fs2' }).map((r) => r.user)).toEqual(['3000']);
    expect(nodeStatuses.slice(0, 1)).toEqual(['down']);
    expect(nodeStatuses.slice(-2)).toEqual(['syncing', 'up']);
    // Its events flow again after the reconnection (the client re-subscribed).
    again.register({ user: '3001', domain: 'b.example' });
    await until(cluster, 'the new registration', () => cluster.registrations({ user: '3001' }).length === 1);
  });

  it('reports a node that cannot be reached at start as down, and picks it up once it answers', async () => {
    const fs1 = await fake('fs1');
    const gone = await fake('fs2');
    const port = gone.port;
    await gone.stop();
    fakes.splice(fakes.indexOf(gone), 1);
    const fs2Client = new EslClient({ port, password: 'ClueCon', connectTimeoutMs: 5000 });
    clients.push(fs2Client);
    const c = new FreeSwitchCluster({
      nodes: { fs1: client(fs1), fs2: fs2Client },
      retry: { minMs: 50, maxMs: 200 },
    });
    cluster = c;
    const errors: string[] = [];
    c.on('error', (err, node) => errors.push(`${node}: ${err.message}`));
    await c.start();
    expect(c.nodes().map((n) => n.status)).toEqual(['up', 'down']);
    expect(errors[0]).toMatch(/^fs2: /);
    const back = await fake('fs2', port);
    back.register({ user: '1', domain: 'd' });
    await until(c, 'fs2 up', () => c.nodes()[1]?.status === 'up');
    expect(c.registrations({ node: 'fs2' })).toHaveLength(1);
  });
});

describe('FakeFreeSwitch mod_callcenter', () => {
  it('answers callcenter_config lists byte for byte as the captured FreeSWITCH did (fs-modules/esl/52)', async () => {
    const f = await fake('cc');
    loadCapturedCallcenter(f);
    f.callcenter?.addMember(
      'support@default',
      {
        uuid: '6c6c69c2-3bdf-4e48-9586-909eb5077826',
        sessionUuid: 'f25c34b0-e045-4cd0-9a03-a65c21ea2669',
        cidNumber: '5552001',
        cidName: 'Member One',
      },
      { system_epoch: '1796194358', joined_epoch: '1796194358', score: '6' },
    );
    const c = client(f);
    await c.connect();
    const captured = capturedApiReplies(
      ['fs-modules', 'esl'],
      '52-api-callcenter-config-lists-with-waiting-member',
    );
    for (const [command, body] of captured) {
      if (command.includes(' count')) continue; // counts are not faked
      expect(await c.api(command), command).toBe(body);
    }
  });
});

import { createServer, type Server } from 'node:http';
import { HttpAuth } from '@pbxkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterState, clusterViewHandler, EslEvent, parseCallcenterList } from '../src/index.js';
import { capturedApiReplies, registerHeaders } from './cluster-fixtures.js';

const TOKEN = 'portal-token-0123456789abcdefghijklmnopqrstuvwxyz';
let server: Server;
let base: string;
let outside = 0;

/** Two nodes up (fs1 with the captured mod_callcenter lists), one down. */
function view(): ClusterState {
  const state = new ClusterState({ nodes: ['fs1', 'fs2', 'fs3'] });
  const replies = capturedApiReplies(
    ['fs-modules', 'esl'],
    '52-api-callcenter-config-lists-with-waiting-member',
  );
  const list = (command: string) => parseCallcenterList(replies.get(command) ?? '', command);
  const callcenter = {
    queues: list('callcenter_config queue list'),
    agents: list('callcenter_config agent list'),
    tiers: list('callcenter_config tier list'),
    members: list('callcenter_config queue list members support@default'),
  };
  const channel = (uuid: string, presence: string, callUuid = '') =>
    ({ uuid, name: `sofia/internal/${uuid}`, presence_id: presence, call_uuid: callUuid }) as never;
  for (const node of ['fs1', 'fs2']) state.apply({ type: 'syncing', node, at: 0 });
  state.apply({
    type: 'snapshot',
    node: 'fs1',
    at: 0,
    snapshot: {
      channels: [channel('a-leg', '1000@a.example'), channel('b-leg', '', 'a-leg')],
      calls: [],
      registrations: [],
      callcenter,
    },
  });
  state.apply({
    type: 'snapshot',
    node: 'fs2',
    at: 0,
    snapshot: { channels: [], calls: [], registrations: [] },
  });
  state.apply({ type: 'down', node: 'fs3', at: 0, error: 'connection refused' });
  for (const [node, domain] of [
    ['fs1', 'a.example'],
    ['fs2', 'b.example'],
  ] as const) {
    const event = EslEvent.fromHeaders(registerHeaders('1000', domain, `c-${node}`));
    state.apply({ type: 'event', node, event });
  }
  return state;
}

beforeAll(async () => {
  const handler = clusterViewHandler(view(), {
    auth: new HttpAuth({ bearerTokens: [TOKEN] }),
    basePath: '/v1/cluster',
  });
  server = createServer((req, res) => {
    void handler(req, res, () => {
      outside++;
      res.statusCode = 404;
      res.end('not mine');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/cluster`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const get = (path: string, init: RequestInit = {}) =>
  fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...init.headers } });

describe('clusterViewHandler', () => {
  it('refuses a request without the operator token (401 with a challenge)', async () => {
    const res = await fetch(`${base}/nodes`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    const wrong = await fetch(`${base}/nodes`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
  });

  it('lists the nodes with their status and the reason a node is down', async () => {
    const res = await get('/nodes');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { nodes } = (await res.json()) as {
      nodes: Array<{ node: string; status: string; error?: string }>;
    };
    expect(nodes.map((n) => [n.node, n.status, n.error])).toEqual([
      ['fs1', 'up', undefined],
      ['fs2', 'up', undefined],
      ['fs3', 'down', 'connection refused'],
    ]);
  });

  it('answers registrations by user and domain, tagged with their node, and names the nodes left out', async () => {
    const all = (await (await get('/registrations?user=1000')).json()) as {
      registrations: Array<{ node: string; realm: string }>;
      down: string[];
    };
    expect(all.registrations.map((r) => [r.node, r.realm])).toEqual([
      ['fs1', 'a.example'],
      ['fs2', 'b.example'],
    ]);
    expect(all.down).toEqual(['fs3']);
    const one = (await (await get('/registrations?user=1000&domain=b.example')).json()) as {
      registrations: Array<{ node: string }>;
    };
    expect(one.registrations.map((r) => r.node)).toEqual(['fs2']);
  });

  it('answers channels, a channel and its call by uuid, and 404 for an unknown uuid', async () => {
    const mine = (await (await get('/channels?user=1000&domain=a.example')).json()) as {
      channels: Array<{ uuid: string }>;
    };
    expect(mine.channels.map((c) => c.uuid)).toEqual(['a-leg']);
    const call = (await (await get('/calls/b-leg')).json()) as {
      call: { uuid: string; legs: Array<{ uuid: string }> };
    };
    expect(call.call.uuid).toBe('a-leg');
    expect(call.call.legs.map((l) => l.uuid)).toEqual(['a-leg', 'b-leg']);
    const missing = await get('/channels/nope');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { message: string }).message).toContain('"nope"');
  });

  it('answers queues, their agents and members from the captured mod_callcenter lists', async () => {
    const agents = (await (await get(`/queues/${encodeURIComponent('support@default')}/agents`)).json()) as {
      agents: Array<{ name: string; status: string }>;
    };
    expect(agents.agents.map((a) => [a.name, a.status])).toEqual([
      ['agent-a@default', 'Logged Out'],
      ['agent-b@default', 'Logged Out'],
    ]);
    const members = (await (await get('/members?queue=support@default')).json()) as {
      members: Array<{ cidName: string }>;
    };
    expect(members.members.map((m) => m.cidName)).toEqual(['Member One']);
    expect((await get('/queues/other@default/agents')).status).toBe(404);
  });

  it('refuses an unknown parameter by name, writes with 405, and leaves other paths to next', async () => {
    const bad = await get('/registrations?usr=1000');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain('"usr"');
    const post = await get('/nodes', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await get('/nodes', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await get('/nothing')).status).toBe(404);
    const before = outside;
    const elsewhere = await fetch(base.replace('/v1/cluster', '/other'));
    expect(await elsewhere.text()).toBe('not mine');
    expect(outside).toBe(before + 1);
  });
});

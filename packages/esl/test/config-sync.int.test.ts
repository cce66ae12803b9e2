import { createHmac, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitSource, type PushEvent, PushWebhook, Registry } from '@pbxkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testGit } from '../../../scripts/test-env.js';
import { type ApplyResult, EslClient, FsConfigSync, FsReloadError } from '../src/index.js';
import { FakeFreeSwitch, FS_RELOAD_REPLIES } from '../src/testing/index.js';
import { gatewayXml, sampleTree, userXml } from './fs-conf-tree.js';
import { makeRepo, type TestRepo, writeFiles } from './git-repo.js';

const SECRET = 'webhook-secret-for-the-config-sync-test';

describe('git → webhook → FsConfigSync against FakeFreeSwitch', () => {
  let root: string;
  let repo: TestRepo;
  let fake: FakeFreeSwitch;
  let client: EslClient;
  let sync: FsConfigSync;
  let source: GitSource;
  let server: Server;
  let url: string;
  const confDir = () => join(root, 'conf');
  // Each push the webhook accepts is applied; the test awaits the apply it triggered.
  const applies: Array<Promise<ApplyResult>> = [];
  const registry = new Registry();

  const sent = () =>
    fake.received.map((r) => r.command).filter((c) => c.startsWith('api ') && !c.includes('show '));
  const post = (body: object, headers: Record<string, string>) =>
    fetch(url, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    });
  const githubPush = (after: string, delivery = randomUUID(), secret = SECRET) => {
    const body = { ref: 'refs/heads/main', after, repository: { full_name: 'ops/fs-conf' } };
    const signature = createHmac('sha256', secret).update(JSON.stringify(body)).digest('hex');
    return post(body, {
      'x-github-event': 'push',
      'x-github-delivery': delivery,
      'x-hub-signature-256': `sha256=${signature}`,
    });
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'fs-config-sync-'));
    repo = await makeRepo(root);
    await repo.commit(sampleTree(3), 'initial configuration');
    // The node runs the initial configuration already.
    await writeFiles(confDir(), sampleTree(3));
    fake = await FakeFreeSwitch.start();
    fake.reloads.configuredGateways.set('external', new Set(['carrier1', 'carrier2']));
    fake.reloads.profiles.set('external', new Set(['carrier1']));
    fake.reloads.queues.add('support@default');
    client = new EslClient({ port: fake.port, password: 'ClueCon' });
    await client.connect();
    sync = await FsConfigSync.open({
      confDir: confDir(),
      stateDir: join(root, 'state'),
      esl: client,
      fsync: false,
      registry,
    });
    source = new GitSource({
      remote: repo.remote,
      ref: 'main',
      checkoutDir: join(root, 'checkout'),
      git: testGit(),
    });
    const hook = new PushWebhook({ secret: SECRET, refs: ['main'], registry });
    server = createServer(
      hook.handler((event: PushEvent) => {
        applies.push(
          source.snapshot().then((snap) => sync.apply(snap, { appliedBy: `webhook ${event.forge}` })),
        );
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await client?.close();
    await fake?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('records the running configuration as version 1 without reloading anything', async () => {
    const result = await sync.apply(await source.snapshot(), { appliedBy: 'first start' });
    expect(result).toMatchObject({ changed: true, version: 1, commands: [] });
    expect(sent()).toEqual([]);
  });

  it('a signed GitHub push is applied: the changed files written, reloadxml and a rescan for the new gateway', async () => {
    const commit = await repo.commit(
      {
        'directory/default/1001.xml': userXml('1001', 'changed-password'),
        'sip_profiles/external/carrier2.xml': gatewayXml('carrier2', 'sip.carrier2.example'),
      },
      'user 1001 password, gateway carrier2',
    );
    const delivery = randomUUID();
    const response = await githubPush(commit, delivery);
    expect(response.status).toBe(202);
    const result = await applies[0];
    expect(result).toMatchObject({ changed: true, version: 2, revision: commit });
    expect(result?.diff.sections.changed).toEqual(['directory/pbx.example.com/user/1001']);
    expect(result?.diff.sections.added).toEqual(['sofia/external/gateway/carrier2']);
    expect(sent()).toEqual(['api reloadxml', 'api sofia profile external rescan']);
    expect(fake.reloads.profiles.get('external')).toEqual(new Set(['carrier1', 'carrier2']));
    expect(await readFile(join(confDir(), 'directory/default/1001.xml'), 'utf8')).toContain(
      'changed-password',
    );
    expect(result?.commands.every((c) => c.ok)).toBe(true);

    // The same delivery again (a redelivery or a captured request replayed) changes nothing.
    const replay = await githubPush(commit, delivery);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ ignored: 'replay' });
    // A wrong signature is refused before anything else.
    expect((await githubPush(commit, randomUUID(), 'not-the-secret')).status).toBe(401);
    expect(applies).toHaveLength(1);
    expect((await sync.history()).map((v) => v.version)).toEqual([1, 2]);
  });

  it('an -ERR from FreeSWITCH rolls the files back and reloads the previous configuration', async () => {
    const before = await readFile(join(confDir(), 'autoload_configs/callcenter.conf.xml'), 'utf8');
    await repo.commit(
      {
        'autoload_configs/callcenter.conf.xml': before.replace(
          '"max-wait-time" value="0"',
          '"max-wait-time" value="120"',
        ),
      },
      'queue wait',
    );
    fake.reloads.failNext('callcenter_config queue reload', '-ERR Invalid queue\n');
    fake.received.length = 0;
    const error = await sync.apply(await source.snapshot()).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(FsReloadError);
    expect(error).toMatchObject({ code: 'FS_CONFIG_RELOAD' });
    expect((error as FsReloadError).commands.map((c) => [c.command, c.ok])).toEqual([
      ['reloadxml', true],
      ['callcenter_config queue reload support@default', false],
    ]);
    // Put back and loaded again: the same reloads, now with the old file.
    expect((error as FsReloadError).recovery.map((c) => [c.command, c.ok])).toEqual([
      ['reloadxml', true],
      ['callcenter_config queue reload support@default', true],
    ]);
    expect(await readFile(join(confDir(), 'autoload_configs/callcenter.conf.xml'), 'utf8')).toBe(before);
    expect((await sync.history()).map((v) => v.version)).toEqual([1, 2]);
  });

  it('reloadxml answering "+OK [[error near line …]]" is a failure too, and the next try applies', async () => {
    fake.reloads.failNext('reloadxml', FS_RELOAD_REPLIES.reloadxmlMalformed);
    const error = await sync.apply(await source.snapshot()).catch((err: unknown) => err);
    expect(error).toMatchObject({
      code: 'FS_CONFIG_RELOAD',
      message: expect.stringContaining('error near line 6802'),
    });
    const result = await sync.apply(await source.snapshot(), { appliedBy: 'retry' });
    expect(result).toMatchObject({ changed: true, version: 3 });
    expect(result.commands.map((c) => c.command)).toEqual([
      'reloadxml',
      'callcenter_config queue reload support@default',
    ]);
  });

  it('refuses a profile restart with a call up on it, unless forced', async () => {
    const internal = await readFile(join(confDir(), 'sip_profiles/internal.xml'), 'utf8');
    await repo.commit({ 'sip_profiles/internal.xml': internal.replace('5060', '5070') }, 'internal port');
    const uuid = fake.addChannel({ channelName: 'sofia/internal/1000@pbx.example.com' });
    fake.received.length = 0;
    const error = await sync.apply(await source.snapshot()).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'FS_CONFIG_CALLS_UP' });
    expect(sent()).toEqual([]);
    expect(await readFile(join(confDir(), 'sip_profiles/internal.xml'), 'utf8')).toBe(internal);
    const result = await sync.apply(await source.snapshot(), { force: true, appliedBy: 'operator (forced)' });
    expect(result.commands.map((c) => c.command)).toEqual(['reloadxml', 'sofia profile internal restart']);
    fake.channels.delete(uuid);
  });

  it('rolls back to version 1 through the same pipeline: killgw for the gateway it removes', async () => {
    fake.received.length = 0;
    const result = await sync.rollback(1, { appliedBy: 'operator' });
    expect(result.commands.map((c) => c.command)).toEqual([
      'reloadxml',
      'sofia profile internal restart',
      'sofia profile external killgw carrier2',
      'callcenter_config queue reload support@default',
    ]);
    expect(fake.reloads.profiles.get('external')?.has('carrier2')).toBe(false);
    expect(await readFile(join(confDir(), 'directory/default/1001.xml'), 'utf8')).toBe(userXml('1001'));
    const latest = (await sync.history()).at(-1);
    expect(latest).toMatchObject({ version: 5, rollbackOf: 1, appliedBy: 'operator' });
    expect(await sync.store.changes(5)).toContain('-    <param name="sip-port" value="5070"/>');
    const metrics = await registry.getSingleMetricAsString('pbxkit_esl_config_applies_total');
    expect(metrics).toMatch(/result="rolled_back"} 2/);
  });
});

import { createHmac, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@pbxkit/core';
import { FakeFreeSwitch, FS_RELOAD_REPLIES } from '@pbxkit/esl/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayXml, sampleTree, userXml } from '../../../packages/esl/test/fs-conf-tree.js';
import { makeRepo, type TestRepo, writeFiles } from '../../../packages/esl/test/git-repo.js';
import { type NodeDaemon, startNodeDaemon } from '../src/node-mode.js';
import { nodeSettings } from '../src/node-settings.js';

const SECRET = 'gitea-webhook-secret-for-the-node-test';
const TOKEN = 'api-token-for-the-node-mode-test';

describe('freeswitch-config-sync --mode node', () => {
  let root: string;
  let repo: TestRepo;
  let fake: FakeFreeSwitch;
  let node: NodeDaemon;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${node.url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...init.headers } });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'fs-config-node-'));
    repo = await makeRepo(root);
    await repo.commit(sampleTree(3), 'initial');
    await writeFiles(join(root, 'conf'), sampleTree(3));
    fake = await FakeFreeSwitch.start();
    fake.reloads.configuredGateways.set('external', new Set(['carrier1', 'carrier2']));
    fake.reloads.profiles.set('external', new Set(['carrier1']));
    const settings = nodeSettings({
      PBXKIT_FS_CONF_DIR: join(root, 'conf'),
      PBXKIT_STATE_DIR: join(root, 'state'),
      PBXKIT_ESL_PORT: String(fake.port),
      PBXKIT_SOURCE: 'git',
      PBXKIT_GIT_REMOTE: repo.remote,
      PBXKIT_POLL_SECONDS: '0',
      PBXKIT_WEBHOOK_SECRET: SECRET,
      PBXKIT_API_TOKEN: TOKEN,
      PBXKIT_HTTP_PORT: '0',
    });
    node = await startNodeDaemon(settings, silentLogger);
    await node.eslReady;
    // The check at start records what the node runs as version 1.
    await node.daemon.trigger('test');
  });

  afterAll(async () => {
    await node?.close();
    await fake?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('applies a signed Gitea push, and serves history, the diff and /metrics', async () => {
    const commit = await repo.commit(
      {
        'directory/default/1002.xml': userXml('1002', 'pushed'),
        'sip_profiles/external/carrier2.xml': gatewayXml('carrier2', 'sip.carrier2.example'),
      },
      'gitea push',
    );
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      after: commit,
      repository: { full_name: 'ops/fs' },
    });
    const response = await fetch(`${node.url}/webhook`, {
      method: 'POST',
      body,
      headers: {
        'x-gitea-event': 'push',
        'x-gitea-delivery': randomUUID(),
        'x-gitea-signature': createHmac('sha256', SECRET).update(body).digest('hex'),
      },
    });
    expect(response.status).toBe(202);
    await node.daemon.trigger('test'); // resolves once the check the push started is done
    expect(node.daemon.status.appliedRevision).toBe(commit);
    expect(await readFile(join(root, 'conf/directory/default/1002.xml'), 'utf8')).toContain('pushed');

    const history = (await (await api('/history')).json()) as Array<{ version: number; appliedBy: string }>;
    expect(history.map((v) => v.version)).toEqual([1, 2]);
    expect(history[1]?.appliedBy).toMatch(/gitea push/);
    expect(await (await api('/history/2/diff')).text()).toContain(
      '+      <param name="password" value="pushed"/>',
    );
    expect(await (await api('/diff?from=1&to=2')).text()).toContain('carrier2');
    expect((await fetch(`${node.url}/history`)).status).toBe(401);
    expect((await api('/history/99/diff')).status).toBe(404);
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).toMatch(/pbxkit_esl_config_applies_total\{result="applied"\} 2/);
    expect(metrics).toMatch(/pbxkit_core_webhook_deliveries_total\{verdict="push"\} 1/);
    expect((await fetch(`${node.url}/health`)).status).toBe(200);
  });

  it('rolls back over the API and holds the source revision until it changes', async () => {
    const response = await api('/rollback/1', { method: 'POST' });
    expect(response.status).toBe(200);
    const result = (await response.json()) as { version: number; commands: Array<{ command: string }> };
    expect(result.version).toBe(3);
    expect(result.commands.map((c) => c.command)).toEqual([
      'reloadxml',
      'sofia profile external killgw carrier2',
    ]);
    await api('/sync', { method: 'POST' });
    expect(((await (await api('/history')).json()) as unknown[]).length).toBe(3);
    const health = (await (await fetch(`${node.url}/health`)).json()) as { held: string };
    expect(health.held).toBe(node.daemon.status.held);
  });

  it('reports a refused reload on /health (503) with the files rolled back', async () => {
    await repo.commit({ 'directory/default/1000.xml': userXml('1000', 'broken-reload') }, 'next');
    fake.reloads.failNext('reloadxml', FS_RELOAD_REPLIES.reloadxmlMalformed);
    await api('/sync', { method: 'POST' });
    const health = await fetch(`${node.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ lastError: { code: 'FS_CONFIG_RELOAD' } });
    expect(await readFile(join(root, 'conf/directory/default/1000.xml'), 'utf8')).toBe(userXml('1000'));
    // FreeSWITCH takes it on the next check.
    await api('/sync', { method: 'POST' });
    expect((await fetch(`${node.url}/health`)).status).toBe(200);
    expect(await readFile(join(root, 'conf/directory/default/1000.xml'), 'utf8')).toContain('broken-reload');
  });
});

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FakeFreeSwitch } from '@pbxkit/esl/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CentralConfigError,
  type CentralMode,
  centralConfigFromEnv,
  startCentralMode,
} from '../src/central-mode.js';

const TOKEN = 'central-token-0123456789abcdefghijklmnopqrstuvwxyz';
const fakes: FakeFreeSwitch[] = [];
let central: CentralMode | undefined;

afterEach(async () => {
  await central?.close();
  central = undefined;
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

/** Waits (no sleeps: on each view change) until `condition` holds, or fails after a generous deadline. */
function until(mode: CentralMode, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  if (condition()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out; nodes ${JSON.stringify(mode.cluster.nodes())}`)),
      timeoutMs,
    );
    const check = () => {
      if (!condition()) return;
      clearTimeout(timer);
      mode.cluster.off('change', check);
      resolve();
    };
    mode.cluster.on('change', check);
  });
}

describe('central mode: configuration', () => {
  it('reads the nodes, listen address and auth from the environment', () => {
    const config = centralConfigFromEnv({
      FS_NODES: 'fs1=10.0.0.1:8022, fs2=pbx-b.example',
      FS_ESL_PASSWORD: 'secret',
      CENTRAL_LISTEN: '0.0.0.0:9000',
      PBXKIT_AUTH_TOKENS: TOKEN,
    });
    expect(config.nodes).toEqual([
      { name: 'fs1', host: '10.0.0.1', port: 8022, password: 'secret' },
      { name: 'fs2', host: 'pbx-b.example', port: 8021, password: 'secret' },
    ]);
    expect([config.host, config.port]).toEqual(['0.0.0.0', 9000]);
    expect(config.auth).toEqual({ bearerTokens: [TOKEN] });
  });

  it('names the variable at fault', () => {
    const ok = { FS_NODES: 'fs1=h', FS_ESL_PASSWORD: 'p', PBXKIT_AUTH_TOKENS: TOKEN };
    const fault = (env: Record<string, string>) => {
      try {
        centralConfigFromEnv(env);
      } catch (err) {
        expect(err).toBeInstanceOf(CentralConfigError);
        return [(err as CentralConfigError).code, (err as CentralConfigError).variable];
      }
      return undefined;
    };
    expect(fault({ ...ok, FS_NODES: '' })).toEqual(['CENTRAL_CONFIG', 'FS_NODES']);
    expect(fault({ ...ok, FS_NODES: 'fs1=h:port' })).toEqual(['CENTRAL_CONFIG', 'FS_NODES']);
    expect(fault({ ...ok, FS_NODES: 'a=h,a=i' })).toEqual(['CENTRAL_CONFIG', 'FS_NODES']);
    expect(fault({ ...ok, FS_ESL_PASSWORD: '' })).toEqual(['CENTRAL_CONFIG', 'FS_ESL_PASSWORD']);
    expect(fault({ ...ok, CENTRAL_LISTEN: 'x:y' })).toEqual(['CENTRAL_CONFIG', 'CENTRAL_LISTEN']);
    expect(fault({ FS_NODES: 'fs1=h', FS_ESL_PASSWORD: 'p' })).toEqual([
      'CENTRAL_CONFIG',
      'PBXKIT_AUTH_TOKENS',
    ]);
    expect(centralConfigFromEnv({ FS_NODES: 'fs1=h', FS_ESL_PASSWORD: 'p', CENTRAL_AUTH: 'none' }).auth).toBe(
      'none',
    );
  });
});

describe('central mode against two fake FreeSWITCH nodes', () => {
  it('serves the realtime view, /health and /metrics, and reports a node that goes down', async () => {
    const fs1 = await FakeFreeSwitch.start({ hostname: 'fs1' });
    const fs2 = await FakeFreeSwitch.start({ hostname: 'fs2' });
    fakes.push(fs1, fs2);
    fs1.register({ user: '1000', domain: 'a.example' });
    fs2.register({ user: '1000', domain: 'b.example' });
    const config = centralConfigFromEnv({
      FS_NODES: `fs1=127.0.0.1:${fs1.port},fs2=127.0.0.1:${fs2.port}`,
      FS_ESL_PASSWORD: 'ClueCon',
      CENTRAL_LISTEN: '127.0.0.1:0',
      PBXKIT_AUTH_TOKENS: TOKEN,
    });
    central = await startCentralMode(config);
    const mode = central;
    const get = (path: string, token = true) =>
      fetch(`${mode.url}${path}`, { headers: token ? { authorization: `Bearer ${TOKEN}` } : {} });

    expect((await get('/cluster/registrations?user=1000', false)).status).toBe(401);
    const regs = (await (await get('/cluster/registrations?user=1000')).json()) as {
      registrations: Array<{ node: string; realm: string }>;
      down: string[];
    };
    expect(regs.registrations.map((r) => [r.node, r.realm])).toEqual([
      ['fs1', 'a.example'],
      ['fs2', 'b.example'],
    ]);
    expect(regs.down).toEqual([]);
    const health = await get('/health', false);
    expect([health.status, ((await health.json()) as { status: string }).status]).toEqual([200, 'ok']);
    expect((await get('/metrics', false)).status).toBe(401);
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toContain('pbxkit_esl_cluster_node_up_ratio{node="fs1"} 1');

    // A live registration shows up without asking FreeSWITCH again.
    fs1.register({ user: '1001', domain: 'a.example' });
    await until(mode, () => mode.cluster.registrations({ user: '1001' }).length === 1);
    const live = (await (await get('/cluster/registrations?domain=a.example')).json()) as {
      registrations: unknown[];
    };
    expect(live.registrations).toHaveLength(2);

    await fs2.stop();
    fakes.splice(fakes.indexOf(fs2), 1);
    await until(mode, () => mode.cluster.nodes()[1]?.status === 'down');
    const degraded = await get('/health', false);
    expect([degraded.status, ((await degraded.json()) as { status: string }).status]).toEqual([
      200,
      'degraded',
    ]);
    const after = (await (await get('/cluster/registrations?user=1000')).json()) as {
      registrations: Array<{ node: string }>;
      down: string[];
    };
    expect(after.registrations.map((r) => r.node)).toEqual(['fs1']);
    expect(after.down).toEqual(['fs2']);
  });
});

describe('central mode: the daemon', () => {
  it('`--mode central` without its settings exits 2 with one line naming the variable', async () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', main, '--mode', 'central'],
        { env: { PATH: process.env.PATH ?? '' }, cwd: fileURLToPath(new URL('..', import.meta.url)) },
        (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
      );
    });
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      'freeswitch-config-sync: FS_ESL_PASSWORD: is required (the event socket password of the nodes)',
    );
  });
});

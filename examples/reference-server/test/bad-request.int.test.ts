import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const serverDir = resolve(here, '..');
const root = resolve(here, '../../..');

/** Starts the reference server as `pnpm start` does, in a process of its own; resolves with its URL. */
async function startServerProcess(
  dataDir: string,
): Promise<{ url: string; child: ChildProcess; exited: Promise<string>; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(serverDir, 'src/main.ts')], {
    cwd: serverDir,
    env: {
      ...process.env,
      PBXKIT_PORT: '0',
      PBXKIT_DATA_DIR: dataDir,
      TSX_TSCONFIG_PATH: join(root, 'tsconfig.json'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<string>((done) =>
    child.once('exit', (code, signal) => done(`exited (code ${code}, signal ${signal})`)),
  );
  const url = await new Promise<string>((found, failed) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /pbxkit reference server on (http:\/\/\S+)/.exec(output);
      if (match) found(match[1] as string);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((how) => failed(new Error(`the server ${how} before listening:\n${output}`)));
  });
  return { url, child, exited, output: () => output };
}

describe('reference server: no request can end the process', () => {
  it('answers a path with an invalid percent-escape with 400, and the next request as usual', {
    // Starting takes the embedded PGlite's first initialisation: about 20 s on a loaded 2-core machine.
    timeout: 120_000,
  }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pbxkit-ref-bad-'));
    const server = await startServerProcess(dataDir);
    try {
      const bad = await fetch(`${server.url}/recordings/%E0%A4%A`);
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({
        error: 'bad_request',
        reason: 'the path has an invalid percent-escape',
      });
      const normal = await fetch(`${server.url}/recordings/00000000-0000-4000-8000-000000000000`);
      expect(normal.status).toBe(404);
      expect(await normal.json()).toMatchObject({ error: 'not_found' });
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      expect(server.child.exitCode, server.output()).toBeNull();
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

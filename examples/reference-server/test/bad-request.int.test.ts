import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { healthUntil } from './helpers.js';
import { startServerProcess } from './server-process.js';

const here = dirname(fileURLToPath(import.meta.url));
const serverDir = resolve(here, '..');
const root = resolve(here, '../../..');

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
      // Requests an attacker or a broken client might send: each gets an answer, none ends the process.
      const { port } = new URL(server.url);
      for (const raw of [
        'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET http://evil.example/recordings/x HTTP/1.1\r\nHost: x\r\n\r\n',
        `GET /recordings/${'a'.repeat(6000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
        'GET /recordings/..%2F..%2Fetc%2Fpasswd HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET /_peer/objects/x.wav HTTP/1.1\r\nHost: x\r\n\r\n',
        'POST /cdr HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n<cdr>', // then hangs up
        'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n',
      ]) {
        const answer = await rawRequest(Number(port), raw);
        expect(answer, raw.slice(0, 40)).toMatch(/^(HTTP\/1\.1 \d{3}|)/);
      }
      expect((await fetch(`${server.url}/health`, { method: 'HEAD' })).status).toBeLessThan(600);
      await healthUntil(server.url, (status) => status === 200, 90_000); // the embedded database may still be starting
      expect(server.child.exitCode, server.output()).toBeNull();
      // Logs are pino's JSON lines on stdout (journald keeps them), beside the console line.
      expect(server.output()).toMatch(/^\{"level":30,.*"msg":"listening"/m);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/** Sends `raw` on a fresh connection, then hangs up; resolves with what came back (possibly nothing). */
function rawRequest(port: number, raw: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(raw));
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    socket.on('error', () => resolve(answer));
    socket.on('close', () => resolve(answer));
  });
}

describe('reference server command line', () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', join(serverDir, 'src/main.ts'), ...args],
        {
          cwd: serverDir,
          env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json'), ...env },
        },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  it('--print-config shows the effective settings with secrets masked; a bad key stops it with exit code 2', {
    timeout: 60_000,
  }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pbxkit-ref-cli-'));
    try {
      const file = join(dataDir, 'reference-server.yaml');
      await writeFile(
        file,
        'cdr:\n  user: fs\n  password: cdr-secret-value\nstorage:\n  local:\n    days: 7\n',
      );
      const printed = await run(['--config', file, '--print-config'], {
        PBXKIT_DATABASE_URL: 'postgres://u:pg-secret@db/fusionpbx',
      });
      expect(printed.code, printed.stderr).toBe(0);
      expect(printed.stdout).toContain('cdr.user (PBXKIT_CDR_USER, file): fs');
      expect(printed.stdout).toContain('postgres://u:***@db/fusionpbx');
      expect(printed.stdout).toMatch(/localDays: 7/);
      expect(printed.stdout).not.toMatch(/cdr-secret-value|pg-secret/);

      await writeFile(file, 'storage:\n  local:\n    dayz: 7\n');
      const refused = await run(['--config', file]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        /unknown key storage\.local\.dayz in .* \(did you mean storage\.local\.days\?\)/,
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CdrArchiveReader } from '../src/archive/reader.js';
import { basic, httpRequest, makeCdr } from './dispatch-helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');

/** The README's node:http receiver program, its `@pbxkit/*` imports pointed at the sources. */
function readmeReceiverExample(): string {
  const readme = readFileSync(join(root, 'packages/cdr/README.md'), 'utf8');
  const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((m) => m[1] as string)
    .find((code) => code.includes("from 'node:http'") && code.includes('createCdrReceiver('));
  if (!block) throw new Error('README has no node:http receiver example');
  const dir = join(root, 'node_modules', '.readme-examples', 'cdr-receiver');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'node-http.mts');
  writeFileSync(
    file,
    `${block.replace(/from '@pbxkit\/(\w+)'/g, (_m, p: string) => `from '${join(root, 'packages', p, 'src/index.ts')}'`)}\nexport {};\n`,
  );
  return file;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolvePort(port));
    });
  });
}

describe('README receiver example', () => {
  it('runs, receives a CDR as FreeSWITCH posts it, and prints it from its sink', {
    timeout: 60_000,
  }, async () => {
    const file = readmeReceiverExample();
    const port = await freePort();
    const archiveDir = mkdtempSync(join(tmpdir(), 'pbxkit-readme-archive-'));
    const child = spawn(
      join(root, 'packages/cdr/node_modules/.bin/tsx'),
      ['--tsconfig', join(root, 'tsconfig.json'), file],
      {
        cwd: root,
        env: {
          ...process.env,
          PORT: String(port),
          CDR_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'pbxkit-readme-')),
          CDR_ARCHIVE_DIR: archiveDir,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const nextLine = async () => {
      const { value, done } = await lines.next();
      if (done) throw new Error(`example exited early:\n${stderr}`);
      return value as string;
    };
    try {
      expect(await nextLine()).toBe('listening');
      const { uuid, xml } = makeCdr(randomUUID());
      const answer = await httpRequest(`http://127.0.0.1:${port}/cdr?uuid=a_${uuid}`, {
        headers: {
          authorization: basic('freeswitch', 'change-me'),
          'content-type': 'application/x-www-form-plaintext',
        },
        body: `cdr=${xml}`,
      });
      expect(answer.status).toBe(200);
      expect(await nextLine()).toBe(`stored a-leg ${uuid} NORMAL_CLEARING`);
      expect(await nextLine()).toMatch(new RegExp(`^archived \\d{13}-.*-${uuid}$`));
      const archived = await new CdrArchiveReader(archiveDir).list({ uuids: [uuid] });
      expect(archived.map((e) => [e.uuid, e.leg, e.sinks])).toEqual([[uuid, 'a', ['printer']]]);
      const denied = await httpRequest(`http://127.0.0.1:${port}/cdr`, { body: 'x' });
      expect(denied.status).toBe(401);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

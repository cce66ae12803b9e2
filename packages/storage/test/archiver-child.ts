/**
 * The process the archiver crash test kills with SIGKILL: archives everything in ARCH_SOURCE to ARCH_TARGET
 * (a file system target whose writes are slowed down, so that kills land mid-upload), journal ARCH_JOURNAL.
 * Prints one JSON line per progress step and `{ "done": report }` at the end.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Archiver,
  LocalFsBackend,
  type ObjectInfo,
  type WriteBody,
  type WriteOptions,
} from '../src/index.js';

const { ARCH_SOURCE, ARCH_TARGET, ARCH_JOURNAL } = process.env;
if (!ARCH_SOURCE || !ARCH_TARGET || !ARCH_JOURNAL)
  throw new Error('ARCH_SOURCE, ARCH_TARGET, ARCH_JOURNAL required');

class SlowTarget extends LocalFsBackend {
  override async write(key: string, body: WriteBody, options?: WriteOptions): Promise<ObjectInfo> {
    async function* slow() {
      for await (const chunk of body as Readable) {
        await sleep(5);
        yield chunk as Buffer;
      }
    }
    return super.write(key, Readable.from(slow()), options);
  }
}

const send = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);
const archiver = new Archiver({
  source: new LocalFsBackend({ root: ARCH_SOURCE, readChunkBytes: 64 * 1024 }),
  target: new SlowTarget({ root: ARCH_TARGET }),
  journalPath: ARCH_JOURNAL,
  olderThanDays: 0,
  minFileAgeMs: 0,
  concurrency: 3,
});
archiver.on('progress', (p) => send({ step: p.step, key: p.key }));
const report = await archiver.run();
send({ done: report });

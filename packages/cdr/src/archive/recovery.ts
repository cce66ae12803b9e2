import { constants } from 'node:fs';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import type { Logger } from '@pbxkit/core';
import { crc32 } from '../spool/crc32.js';
import { type DirSyncer, isNotFound, writeSynced } from '../spool/durable.js';
import { dataFile, decodeRecords, encodeIndexLine, indexFile, parseIndex } from './format.js';

/** What {@link repairDay} needs of the archive. */
export interface RepairContext {
  fsync: boolean;
  dirSync: DirSyncer;
  logger: Logger;
}

/**
 * After a crash: drops index lines that name bytes the data file lacks or that were torn, indexes complete
 * members the index lacks (their data was synced, their index line not written), and cuts off an incomplete
 * last member (written but never acknowledged).
 */
export async function repairDay(dir: string, day: string, ctx: RepairContext): Promise<void> {
  const dataPath = join(dir, dataFile(day));
  const indexPath = join(dir, indexFile(day));
  const size = (await stat(dataPath)).size;
  const text = await readFile(indexPath, 'utf8').catch((err: unknown) => {
    if (isNotFound(err)) return '';
    throw err;
  });
  const indexed = parseIndex(day, text).filter((e) => e.m + e.n <= size);
  let end = indexed.reduce((max, e) => Math.max(max, e.m + e.n), 0);
  const lines = indexed.map(({ day: _day, m, n, ...facts }) => encodeIndexLine(facts, m, n));
  // Only what follows the last indexed member is read: normally nothing, at most the groups of a crash.
  const tail = await readTail(dataPath, end, size);
  let found = 0;
  while (end < size) {
    const member = readMember(tail.data, end - tail.offset);
    if (!member) break;
    for (const { facts } of member.records) lines.push(encodeIndexLine(facts, end, member.length));
    found += member.records.length;
    end += member.length;
  }
  const rebuilt = lines.join('');
  if (end < size) {
    ctx.logger.warn(
      { day, offset: end, ignoredBytes: size - end },
      'CDR archive ends with an incomplete write (a crash before it was acknowledged): cut off',
    );
    const handle = await open(dataPath, constants.O_RDWR);
    try {
      await handle.truncate(end);
      if (ctx.fsync) await handle.datasync();
    } finally {
      await handle.close();
    }
  }
  if (rebuilt !== text) {
    if (found) ctx.logger.info({ day, entries: found }, 'CDR archive: indexed entries its index lacked');
    const tmp = join(dir, `${indexFile(day)}.tmp`);
    await unlink(tmp).catch(() => {});
    await writeSynced(tmp, rebuilt, ctx.fsync);
    await rename(tmp, indexPath);
    await ctx.dirSync.sync();
  }
}

/** The bytes of a file from `offset` to `size`. */
async function readTail(
  path: string,
  offset: number,
  size: number,
): Promise<{ data: Buffer; offset: number }> {
  const handle = await open(path, constants.O_RDONLY);
  try {
    const data = Buffer.alloc(size - offset);
    let done = 0;
    while (done < data.length) {
      const { bytesRead } = await handle.read(data, done, data.length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return { data: data.subarray(0, done), offset };
  } finally {
    await handle.close();
  }
}

/** The complete gzip member (as this archive writes them) at `offset`, with its records; undefined if torn. */
function readMember(
  data: Buffer,
  offset: number,
): { length: number; records: ReturnType<typeof decodeRecords> } | undefined {
  // zlib's own header: magic, deflate, no flags (10 bytes); then raw deflate, CRC-32 and size (8 bytes).
  if (
    data.length - offset < 18 ||
    data[offset] !== 0x1f ||
    data[offset + 1] !== 0x8b ||
    data[offset + 3] !== 0
  ) {
    return undefined;
  }
  try {
    const { buffer, engine } = inflateRawSync(data.subarray(offset + 10), { info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    const trailer = offset + 10 + engine.bytesWritten;
    if (trailer + 8 > data.length) return undefined;
    if (
      data.readUInt32LE(trailer) !== crc32(buffer) ||
      data.readUInt32LE(trailer + 4) !== buffer.length >>> 0
    ) {
      return undefined;
    }
    return { length: 10 + engine.bytesWritten + 8, records: decodeRecords(buffer) };
  } catch {
    return undefined;
  }
}

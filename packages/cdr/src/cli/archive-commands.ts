import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CdrArchiveReader } from '../archive/reader.js';
import { type ArchiveRepushTarget, repushArchived } from '../archive/repush.js';
import type { CdrSink } from '../sink.js';
import { listNames } from '../spool/durable.js';
import { CdrSpool } from '../spool/spool.js';
import { type CliIo, oneLine, openForwarder, openStore, progress, UsageError } from './common.js';

type Values = Record<string, string | boolean | string[] | undefined>;

const DURATION = /^(\d+(?:\.\d+)?)([smhd])$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A time on the command line: ISO 8601 (`2026-08-21`, `2026-08-21T14:00`, `2026-08-21 14:00:30`, with `Z` or
 * an offset for UTC; without, the machine's local time, a date alone included), `now`, or a duration ago
 * (`90m`, `2h`, `3d`).
 */
export function parseTime(option: string, text: string, now = Date.now()): Date {
  const trimmed = text.trim();
  if (trimmed === 'now') return new Date(now);
  const ago = DURATION.exec(trimmed);
  if (ago) return new Date(now - Number(ago[1]) * (UNIT_MS[ago[2] as string] as number));
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(trimmed) ? `${trimmed}T00:00` : trimmed.replace(' ', 'T');
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(iso) ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `${option}: not a time: ${JSON.stringify(text)} (use 2026-08-21T14:00 for local time, 2026-08-21T14:00Z for UTC, or 2h for two hours ago)`,
    );
  }
  return new Date(ms);
}

async function mustBeDirectory(option: string, dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`${option}: no such directory: ${dir}`);
}

async function openSpool(dir: string): Promise<CdrSpool> {
  await mustBeDirectory('--spool', dir);
  try {
    return await CdrSpool.open({ dir });
  } catch (err) {
    throw new UsageError(
      `${oneLine(err)}; stop the service first, or re-push from its own process (see the README)`,
    );
  }
}

/**
 * `pbxkit-cdr repush --archive DIR --from T [--to T] [--uuid U]... [--sink NAME] (--spool DIR | --into DB | --url URL)`:
 * the archived CDRs received in [from, to) (and/or with these uuids, and/or stored by that sink) sent again.
 */
export async function repushArchiveCommand(values: Values, io: CliIo): Promise<number> {
  const dir = values.archive as string;
  const uuids = (values.uuid as string[] | undefined) ?? [];
  if (typeof values.from !== 'string' && uuids.length === 0) {
    throw new UsageError('repush --archive: give --from (and --to) or --uuid to select CDRs');
  }
  if (typeof values.to === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(values.to)) {
    throw new UsageError('repush --archive: --to is the end of the time range here; give the URL with --url');
  }
  const from = typeof values.from === 'string' ? parseTime('--from', values.from) : undefined;
  const to = typeof values.to === 'string' ? parseTime('--to', values.to) : undefined;
  if (from && to && from >= to) throw new UsageError('repush --archive: --from must be before --to');
  const destinations = ['spool', 'into', 'url'].filter((d) => typeof values[d] === 'string');
  if (destinations.length !== 1) {
    throw new UsageError('repush --archive: give one destination: --spool DIR, --into DB-URL or --url URL');
  }
  const sinkName = typeof values.sink === 'string' ? values.sink : undefined;
  await mustBeDirectory('--archive', dir);
  let target: ArchiveRepushTarget;
  let close: () => Promise<void>;
  if (typeof values.spool === 'string') {
    const spool = await openSpool(values.spool);
    target = { spool, ...(sinkName ? { sinks: [sinkName] } : {}) };
    close = () => spool.close();
  } else {
    let sink: CdrSink;
    try {
      sink =
        typeof values.into === 'string'
          ? await openStore(values.into)
          : await openForwarder(values, values.url as string);
    } catch (err) {
      throw new UsageError(oneLine(err));
    }
    target = { sink };
    close = async () => sink.close?.();
  }
  try {
    const summary = await repushArchived(
      new CdrArchiveReader(dir),
      { from, to, uuids, sink: sinkName },
      target,
      { onProgress: (s) => progress(io, s, 'CDRs') },
    );
    if (summary.total === 0) io.stderr.write('pbxkit-cdr: no archived CDR matches\n');
    const into =
      'spool' in target ? `queued in ${values.spool}${sinkName ? ` for ${sinkName}` : ''}` : 'delivered';
    io.stdout.write(
      `${summary.done} of ${summary.total} archived CDRs ${into}, ${summary.failed.length} failed\n`,
    );
    for (const f of summary.failed) io.stdout.write(`FAILED ${f.uuid} (${f.id}): ${f.error}\n`);
    return summary.failed.length ? 1 : 0;
  } finally {
    await close();
  }
}

/** `pbxkit-cdr replay-dead --spool DIR [--sink NAME]`: dead letters back into the spool's queue, for their sink. */
export async function replayDeadCommand(values: Values, io: CliIo): Promise<number> {
  if (typeof values.spool !== 'string') throw new UsageError('replay-dead: --spool is required');
  const spool = await openSpool(values.spool);
  try {
    const sinks =
      typeof values.sink === 'string' ? [values.sink] : await listNames(join(spool.dir, 'dead'), '');
    const ids = await Promise.all(sinks.map((s) => spool.deadLetters(s)));
    const summary = { total: ids.reduce((n, list) => n + list.length, 0), done: 0, failed: [] as string[] };
    for (const [i, sink] of sinks.entries()) {
      for (const id of ids[i] as string[]) {
        try {
          await spool.replayDead(sink, [id]);
          summary.done++;
        } catch (err) {
          summary.failed.push(`FAILED ${sink}/${id}: ${oneLine(err)}`);
        }
        progress(io, summary, 'dead letters');
      }
    }
    io.stdout.write(
      `${summary.done} of ${summary.total} dead letters back in the queue (${sinks.join(', ') || 'no sink has any'}), ${summary.failed.length} failed\n`,
    );
    for (const line of summary.failed) io.stdout.write(`${line}\n`);
    return summary.failed.length ? 1 : 0;
  } finally {
    await spool.close();
  }
}

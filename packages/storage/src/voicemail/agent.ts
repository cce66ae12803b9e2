import { readdir, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ErrorReporter, type Logger, MetricsFactory, type Registry, resolveLogger } from '@pbxkit/core';
import type { StorageBackend } from '../backend.js';
import type { LocalFsBackend } from '../backends/local.js';
import { isNotFound, StorageVerifyError } from '../errors.js';
import type { VoicemailEvent, VoicemailEventSource } from './events.js';
import { mailboxPrefix, parseVoicemailKey, voicemailKeyOf } from './layout.js';
import type { VoicemailChange, VoicemailNotifier } from './notifier.js';
import { type LocalFile, type PlanStep, planReconcile, type SharedObject } from './plan.js';
import { pullVerified, sha256Of, uploadVerified } from './verified-copy.js';
import type { VoicemailIndex, VoicemailMessage } from './vm-index.js';

/** Options of {@link VoicemailAgent}. */
export interface VoicemailAgentOptions {
  /** This node's voicemail tree: a `LocalFsBackend` on `<storage_dir>/voicemail`. */
  local: LocalFsBackend;
  /** The shared tier every node and the portal read (an `S3Backend`). Keys are the same as local ones. */
  shared: StorageBackend;
  /** The voicemail database (mod_voicemail's or FusionPBX's tables), read only. */
  index: VoicemailIndex;
  /** This node's `vm::maintenance` events. Without it, only the reconcile and {@link VoicemailAgent.fetch} work. */
  events?: VoicemailEventSource;
  /** Tells the other nodes' agents about uploads and deletions, and hears theirs. */
  notifier?: VoicemailNotifier;
  /** Default the host name. */
  instanceId?: string;
  /** Full reconcile every this many ms (events can be missed). Default 60 000; 0 only at start. */
  reconcileIntervalMs?: number;
  /** A file or object without a database row younger than this is never taken for deleted. Default 60 000. */
  graceMs?: number;
  /** Greetings and names modified less than this long ago are not copied yet. Default 10 000. */
  minFileAgeMs?: number;
  /** `eager` (default): copy other nodes' messages here as soon as they are known; `lazy`: only on {@link VoicemailAgent.fetch} or when the mailbox's owner logs in. */
  pull?: 'eager' | 'lazy';
  /** Remove local copies of messages older than this many days and not accessed for as long, once the shared copy is proved. Default never. */
  evictAfterDays?: number;
  /**
   * How uploads are proved (see `uploadVerified`): `etag` (default) accepts the S3 ETag when it is the MD5 of
   * the bytes and reads back otherwise; `read-back` always reads the object back.
   */
  verify?: 'etag' | 'read-back' | 'metadata';
  /** Copies at once during a reconcile. Default 4. */
  concurrency?: number;
  now?: () => number;
  logger?: Logger;
  registry?: Registry;
}

/** What one reconcile pass did. */
export interface VoicemailReconcileReport {
  uploaded: number;
  pulled: number;
  deletedLocal: number;
  deletedShared: number;
  evicted: number;
  failed: Array<{ key: string; op: string; error: string }>;
}

/**
 * Keeps one node's voicemail tree and the shared tier in step, so that every node can play every message from
 * its own disk (mod_voicemail reads nothing else) and the portal can fetch any of them.
 *
 * - `leave-message`, `record-greeting`, `change-greeting`, `record-name`: the file is uploaded at once, proved
 *   (size and SHA-256 read back) before it counts as stored, and the other agents are told (notifier), which
 *   copy it to their disks, proved again.
 * - `mwi-update` (the only event a deletion, read or save fires): that mailbox is reconciled, so a message deleted
 *   here leaves the shared tier and, through the notifier, the other nodes.
 * - `authentication` (a caller logs in to a mailbox): its evicted messages are copied back.
 * - Every `reconcileIntervalMs`, a full reconcile ({@link planReconcile}) catches up on whatever events were
 *   missed: the agent down, killed mid-upload, the shared tier unreachable.
 *
 * A failed lookup in the voicemail database deletes nothing; a failed upload keeps the file and is retried.
 * Errors are logged and counted (`pbxkit_storage_errors_total{component="voicemail-agent"}`); activity in
 * `pbxkit_storage_voicemail_copies_total{op,result}`.
 */
export class VoicemailAgent {
  readonly instanceId: string;
  private readonly o: VoicemailAgentOptions;
  private readonly log: Logger;
  private readonly errors: ErrorReporter;
  private readonly copies;
  private readonly reconcileSeconds;
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly stops: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<VoicemailReconcileReport> | undefined;
  private stopped = false;

  constructor(options: VoicemailAgentOptions) {
    this.o = options;
    this.instanceId = options.instanceId ?? hostname();
    this.log = resolveLogger(options.logger, { component: 'voicemail-agent' });
    this.errors = new ErrorReporter('storage', 'voicemail-agent', {
      logger: this.log,
      ...(options.registry ? { registry: options.registry } : {}),
    });
    const metrics = new MetricsFactory('storage', options.registry);
    this.copies = metrics.counter({
      what: 'voicemail_copies',
      unit: 'total',
      help: 'Voicemail files uploaded, pulled, deleted and evicted by the agent, by operation and result',
      labelNames: ['op', 'result'],
    });
    this.reconcileSeconds = metrics.histogram({
      what: 'voicemail_reconcile_duration',
      unit: 'seconds',
      help: 'Duration of full voicemail reconcile passes',
    });
  }

  /** Subscribes to events and changes, reconciles once, then every `reconcileIntervalMs`. */
  start(): void {
    this.stopped = false;
    if (this.o.events) this.stops.push(this.o.events.subscribe((e) => this.observe(this.onEvent(e))));
    if (this.o.notifier) this.stops.push(this.o.notifier.subscribe((c) => this.observe(this.onChange(c))));
    const every = this.o.reconcileIntervalMs ?? 60_000;
    const tick = (): void => {
      this.observe(
        this.reconcile().finally(() => {
          if (!this.stopped && every > 0) {
            this.timer = setTimeout(tick, every);
            this.timer.unref();
          }
        }),
      );
    };
    tick();
  }

  /** Stops listening and reconciling; resolves when the copies under way have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const stop of this.stops.splice(0)) stop();
    await Promise.allSettled([this.running, ...this.inFlight.values()]);
  }

  /**
   * The fetch hook: makes `key` (a voicemail-tree key, or the absolute path the switch uses) present on this
   * node's disk, copying it from the shared tier if needed. Resolves `false` when neither has it.
   */
  async fetch(keyOrPath: string): Promise<boolean> {
    const key = keyOrPath.startsWith('/') ? voicemailKeyOf(keyOrPath, this.o.local.root) : keyOrPath;
    if (!key) return false;
    if (await this.exists(this.o.local, key)) {
      await this.touch(key);
      return true;
    }
    try {
      await this.pull(key);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Handles one `vm::maintenance` event (what the event source delivers); resolves when its copies are done. */
  async onEvent(event: VoicemailEvent): Promise<void> {
    switch (event.action) {
      case 'leave-message':
      case 'record-greeting':
      case 'change-greeting':
      case 'record-name': {
        const key = voicemailKeyOf(event.filePath, this.o.local.root);
        if (!key) {
          this.log.warn({ path: event.filePath }, 'event names a file outside the voicemail tree: ignored');
          return;
        }
        await this.upload(key, event.action === 'leave-message' ? event.uuid : undefined);
        return;
      }
      case 'mwi-update':
        await this.reconcileMailbox(event.domain, event.user);
        return;
      case 'authentication':
        await this.restoreMailbox(event.domain, event.user);
        return;
      default:
        return;
    }
  }

  /** Uploads `key` to the shared tier, proved, then tells the other nodes. */
  async upload(key: string, uuid?: string): Promise<void> {
    await this.once(`up:${key}`, async () => {
      try {
        const metadata: Record<string, string> = { origin: this.instanceId };
        if (uuid) metadata['vm-uuid'] = uuid;
        const done = await uploadVerified(this.o.local, this.o.shared, key, {
          metadata,
          ...(this.o.verify ? { verify: this.o.verify } : {}),
        });
        this.copies.inc({ op: 'upload', result: done.uploaded ? 'ok' : 'present' });
      } catch (err) {
        this.copies.inc({ op: 'upload', result: 'failed' });
        throw err;
      }
      await this.publish({ kind: 'stored', key, origin: this.instanceId });
    });
  }

  /** One full pass (see {@link planReconcile}); concurrent calls share the pass under way. */
  reconcile(): Promise<VoicemailReconcileReport> {
    this.running ??= this.fullPass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Reconciles one mailbox (after an `mwi-update`: a message may have been deleted or moved). */
  async reconcileMailbox(domain: string, user: string): Promise<VoicemailReconcileReport> {
    const rows = await this.o.index.list(domain, user, { status: 'any' });
    const profiles = new Set<string>(['default']);
    for (const m of rows) if (m.key) profiles.add(m.key.split('/')[0] as string);
    // The profiles are the tree's top directories (mwi-update names no profile); walking the whole tree on every
    // mwi-update would cost a full listing per message left, read or deleted.
    const top = await readdir(this.o.local.root, { withFileTypes: true }).catch(() => []);
    for (const entry of top) if (entry.isDirectory() && !entry.name.startsWith('.')) profiles.add(entry.name);
    const local = new Map<string, LocalFile>();
    const shared = new Map<string, SharedObject>();
    for (const profile of profiles) {
      const prefix = mailboxPrefix(profile, domain, user);
      for (const [k, v] of await this.localFiles(prefix)) local.set(k, v);
      for (const [k, v] of await this.sharedObjects(prefix)) shared.set(k, v);
    }
    return this.carryOut(rows, local, shared);
  }

  private async fullPass(): Promise<VoicemailReconcileReport> {
    const started = performance.now();
    try {
      const rows = await this.o.index.all();
      const local = await this.localFiles('');
      const shared = await this.sharedObjects('');
      return await this.carryOut(rows, local, shared);
    } finally {
      this.reconcileSeconds.observe((performance.now() - started) / 1000);
    }
  }

  private async carryOut(
    messages: VoicemailMessage[],
    local: Map<string, LocalFile>,
    shared: Map<string, SharedObject>,
  ): Promise<VoicemailReconcileReport> {
    const rows = new Map<string, VoicemailMessage>();
    for (const m of messages) if (m.key) rows.set(m.key, m);
    const steps = planReconcile({
      rows,
      local,
      shared,
      now: this.now(),
      graceMs: this.o.graceMs ?? 60_000,
      minFileAgeMs: this.o.minFileAgeMs ?? 10_000,
      pull: this.o.pull ?? 'eager',
      ...(this.o.evictAfterDays !== undefined ? { evictAfterDays: this.o.evictAfterDays } : {}),
    });
    const report: VoicemailReconcileReport = {
      uploaded: 0,
      pulled: 0,
      deletedLocal: 0,
      deletedShared: 0,
      evicted: 0,
      failed: [],
    };
    const queue = [...steps];
    const worker = async (): Promise<void> => {
      for (let step = queue.shift(); step; step = queue.shift()) {
        if (this.stopped) return;
        try {
          await this.carryOutStep(step, report, shared.get(step.key));
        } catch (err) {
          report.failed.push({ key: step.key, op: step.op, error: (err as Error).message });
          this.errors.report(err, {
            msg: `voicemail ${step.op} failed: will retry`,
            key: step.key,
            level: 'warn',
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.o.concurrency ?? 4) }, worker));
    return report;
  }

  private async carryOutStep(
    step: PlanStep,
    report: VoicemailReconcileReport,
    shared: SharedObject | undefined,
  ): Promise<void> {
    switch (step.op) {
      case 'upload':
        await this.upload(step.key, step.uuid);
        report.uploaded++;
        return;
      case 'pull':
        await this.pull(step.key, shared);
        report.pulled++;
        return;
      case 'delete-local':
        if (await this.o.local.delete(step.key)) report.deletedLocal++;
        this.copies.inc({ op: 'delete-local', result: 'ok' });
        return;
      case 'delete-shared':
        if (await this.o.shared.delete(step.key)) report.deletedShared++;
        this.copies.inc({ op: 'delete-shared', result: 'ok' });
        await this.publish({ kind: 'deleted', key: step.key, origin: this.instanceId });
        return;
      case 'evict':
        if (await this.evict(step.key)) report.evicted++;
        return;
    }
  }

  /** Copies `key` from the shared tier to this node's disk, proved; `shared` sets the copy's mtime. */
  private async pull(key: string, shared?: SharedObject): Promise<void> {
    await this.once(`pull:${key}`, async () => {
      try {
        await pullVerified(this.o.shared, this.o.local, key);
        this.copies.inc({ op: 'pull', result: 'ok' });
      } catch (err) {
        this.copies.inc({ op: 'pull', result: isNotFound(err) ? 'missing' : 'failed' });
        throw err;
      }
      // A pulled greeting must not look newer than the shared copy it came from (the newer side wins).
      if (shared && parseVoicemailKey(key)?.kind !== 'message') {
        const at = new Date(shared.lastModifiedMs);
        await utimes(join(this.o.local.root, key), at, at).catch(() => {});
      }
    });
  }

  /** Removes the local copy once the shared one is proved to hold the same bytes. */
  private async evict(key: string): Promise<boolean> {
    const [mine, theirs] = await Promise.all([sha256Of(this.o.local, key), sha256Of(this.o.shared, key)]);
    if (mine !== theirs) throw new StorageVerifyError(key, 'the shared copy differs: not evicted');
    const deleted = await this.o.local.delete(key);
    this.copies.inc({ op: 'evict', result: 'ok' });
    return deleted;
  }

  private async restoreMailbox(domain: string, user: string): Promise<void> {
    const rows = await this.o.index.list(domain, user);
    await Promise.all(
      rows.map(async (m) => {
        if (!m.key || (await this.exists(this.o.local, m.key))) return;
        await this.pull(m.key).catch((err: unknown) => {
          if (!isNotFound(err)) this.errors.report(err, { msg: 'could not restore a message', key: m.key });
        });
      }),
    );
  }

  private async onChange(change: VoicemailChange): Promise<void> {
    if (change.origin === this.instanceId || this.stopped) return;
    const parts = parseVoicemailKey(change.key);
    if (!parts || parts.kind === 'other') return;
    if (change.kind === 'stored') {
      if (parts.kind === 'message' && (this.o.pull ?? 'eager') === 'lazy') return;
      if (parts.kind === 'message' && (await this.exists(this.o.local, change.key))) return;
      await this.pull(change.key);
      return;
    }
    // Deleted elsewhere: follow only if the database agrees (a failed lookup throws: nothing is deleted).
    if (parts.kind !== 'message') return;
    const rows = await this.o.index.list(parts.domain, parts.user, { status: 'any' });
    if (rows.some((m) => m.key === change.key)) return;
    if (await this.o.local.delete(change.key)) this.copies.inc({ op: 'delete-local', result: 'ok' });
  }

  private async publish(change: VoicemailChange): Promise<void> {
    if (!this.o.notifier) return;
    await this.o.notifier.publish(change).catch((err: unknown) => {
      this.errors.report(err, {
        msg: 'could not notify the other nodes (their reconcile will catch up)',
        level: 'warn',
      });
    });
  }

  private async localFiles(prefix: string): Promise<Map<string, LocalFile>> {
    const out = new Map<string, LocalFile>();
    for (const key of await this.listLocal(prefix)) {
      const parts = parseVoicemailKey(key);
      if (!parts || parts.kind === 'other') continue;
      const st = await stat(join(this.o.local.root, key)).catch(() => undefined);
      if (st?.isFile()) out.set(key, { size: st.size, mtimeMs: st.mtimeMs, atimeMs: st.atimeMs });
    }
    return out;
  }

  private async listLocal(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.o.local.list(prefix, cursor ? { cursor } : {});
      for (const item of page.items) keys.push(item.key);
      cursor = page.cursor;
    } while (cursor);
    return keys;
  }

  private async sharedObjects(prefix: string): Promise<Map<string, SharedObject>> {
    const out = new Map<string, SharedObject>();
    let cursor: string | undefined;
    do {
      const page = await this.o.shared.list(prefix, cursor ? { cursor } : {});
      for (const item of page.items) {
        out.set(item.key, { size: item.size, lastModifiedMs: item.lastModified.getTime() });
      }
      cursor = page.cursor;
    } while (cursor);
    return out;
  }

  private async exists(backend: StorageBackend, key: string): Promise<boolean> {
    try {
      await backend.stat(key);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Marks a local copy as used, so that eviction spares it (atime alone is not updated on noatime mounts). */
  private async touch(key: string): Promise<void> {
    const path = join(this.o.local.root, key);
    const st = await stat(path).catch(() => undefined);
    if (st) await utimes(path, new Date(this.now()), st.mtime).catch(() => {});
  }

  private once<T>(id: string, work: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(id) as Promise<T> | undefined;
    if (running) return running;
    const p = work().finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, p);
    return p;
  }

  private observe(work: Promise<unknown>): void {
    work.catch((err: unknown) =>
      this.errors.report(err, {
        msg: 'voicemail agent step failed: the reconcile will retry',
        level: 'warn',
      }),
    );
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}

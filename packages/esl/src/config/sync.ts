import { copyFile, mkdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ConfigFiles,
  type ConfigSnapshot,
  ConfigStore,
  type ConfigVersionInfo,
  DirectorySource,
  ErrorReporter,
  type Logger,
  MetricsFactory,
  type MetricsOptions,
  resolveLogger,
} from '@pbxkit/core';
import { parseShowJson } from '../realtime.js';
import { STORE_PREFIX, StorePacker, unpackFiles } from './bundle.js';
import { FsConfigError, FsReloadError, type ReloadReply } from './errors.js';
import { type ConfigDiff, ConfigValidator, diffConfig, type ParsedConfig } from './model.js';
import { type PlanOptions, planReload, type ReloadPlan, replyProblem } from './plan.js';
import type { SectionMap } from './sections.js';
import { type TreeChange, writeTree } from './tree-writer.js';

/** The API part of an ESL client (an {@link EslClient} fits). `-ERR` may be returned or thrown. */
export interface FsApi {
  api(command: string): Promise<string>;
}

/** Options of {@link FsConfigSync.open}. */
export interface FsConfigSyncOptions extends MetricsOptions, PlanOptions {
  /** The node's configuration directory (`/etc/freeswitch`): the pipeline owns every file in it. */
  confDir: string;
  /** Where versions (`versions/`) and copies of applied assets (`assets/<sha256>`) are kept. */
  stateDir: string;
  /** Where a snapshot's assets go (their relative paths below it). Default `confDir`. */
  assetDir?: string;
  /** The node's event socket. */
  esl: FsApi;
  /** The file FreeSWITCH loads first. Default `freeswitch.xml`. */
  rootFile?: string;
  /** Versions kept. Default 100. */
  retain?: number;
  /** fsync written files (turn off only in throwaway tests). Default true. */
  fsync?: boolean;
  logger?: Logger;
}

/** Options of one apply or rollback. */
export interface ApplyOptions {
  /** Recorded in the version (`webhook github`, `operator alice`). Default `config-sync`. */
  appliedBy?: string;
  message?: string;
  /** Restart or stop a sofia profile even with calls up on it. Default false: such an apply fails first. */
  force?: boolean;
}

/** What one apply did. */
export interface ApplyResult {
  /** False when the snapshot equalled the applied version: nothing was written or sent. */
  changed: boolean;
  /** The version recorded (when changed). */
  version: number | undefined;
  revision: string;
  diff: ConfigDiff;
  assets: { added: string[]; removed: string[]; changed: string[] };
  commands: ReloadReply[];
  /** Changes that need a module reload this apply did not do. */
  deferred: string[];
  durationMs: number;
}

type AssetManifest = Record<string, string>;
interface Applied {
  config: { files: ConfigFiles; sections: SectionMap };
  assets: AssetManifest;
  revision: string;
}

const MANIFEST = `${STORE_PREFIX}assets.json`;
const ORIGIN = `${STORE_PREFIX}origin.json`;

/**
 * The FreeSWITCH side of the configuration pipeline, beside one node: validates a snapshot, diffs it against
 * the applied version by file and by section, writes the changed files into the conf directory (and changed
 * assets by checksum), sends the smallest reload ({@link planReload}) and checks each reply
 * ({@link replyProblem}); on any failure it puts the previous files back and reloads again, so the node is
 * never left half-applied. Each applied version is recorded in a {@link ConfigStore}, from which any kept
 * version can be rolled back to (through the same pipeline). One apply runs at a time.
 *
 * @example
 * ```ts
 * const sync = await FsConfigSync.open({ confDir: '/etc/freeswitch', stateDir: '/var/lib/pbxkit/fs-config', esl: client });
 * const result = await sync.apply(await new GitSource({ remote, ref: 'main', checkoutDir }).snapshot());
 * console.log(result.version, result.commands.map((c) => c.command));
 * ```
 */
export class FsConfigSync {
  readonly store: ConfigStore;
  private readonly validator: ConfigValidator;
  private readonly log: Logger;
  private readonly errors: ErrorReporter;
  private readonly fsync: boolean;
  private readonly assetDir: string;
  private readonly assetCache: string;
  private applied: Applied;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly metrics;
  private readonly packer = new StorePacker();

  private constructor(
    private readonly options: FsConfigSyncOptions,
    store: ConfigStore,
    validator: ConfigValidator,
    applied: Applied,
    log: Logger,
  ) {
    this.store = store;
    this.validator = validator;
    this.applied = applied;
    this.log = log;
    this.fsync = options.fsync ?? true;
    this.assetDir = options.assetDir ?? options.confDir;
    this.assetCache = join(options.stateDir, 'assets');
    this.errors = new ErrorReporter('esl', 'config-sync', { logger: log, registry: options.registry });
    const f = new MetricsFactory('esl', options.registry);
    this.metrics = {
      applies: f.counter({
        what: 'config_applies',
        unit: 'total',
        help: 'Configuration applies by result (applied, unchanged, invalid, rolled_back, failed)',
        labelNames: ['result'],
      }),
      duration: f.histogram({
        what: 'config_apply_duration',
        unit: 'seconds',
        help: 'Time of an apply, from validation to the version recorded',
      }),
      reloads: f.counter({
        what: 'config_reload_commands',
        unit: 'total',
        help: 'Reload commands sent, by result (ok, failed)',
        labelNames: ['result'],
      }),
      version: f.gauge({ what: 'config_version', unit: 'number', help: 'The applied configuration version' }),
    };
  }

  /**
   * Opens the version store and learns what the node runs: the newest recorded version, or, on the first
   * start, the conf directory as it is (so the first apply reloads only what differs from it).
   */
  static async open(options: FsConfigSyncOptions): Promise<FsConfigSync> {
    if (!options.confDir || !options.stateDir || !options.esl) {
      throw new FsConfigError('FS_CONFIG_OPTIONS', 'FsConfigSync needs confDir, stateDir and esl');
    }
    const log = resolveLogger(options.logger, { component: 'fs-config-sync', confDir: options.confDir });
    const store = await ConfigStore.open({
      dir: join(options.stateDir, 'versions'),
      ...(options.retain === undefined ? {} : { retain: options.retain }),
      ...(options.fsync === undefined ? {} : { fsync: options.fsync }),
      logger: log,
    });
    const validator = new ConfigValidator(options.rootFile);
    const latest = await store.latest();
    let applied: Applied;
    if (latest) {
      const stored = (await store.get(latest.version)).contents;
      applied = baseline(validator, unpackFiles(stored), manifestOf(stored), originOf(stored).revision, log);
    } else {
      await mkdir(options.confDir, { recursive: true });
      const snap = await new DirectorySource({ dir: options.confDir }).snapshot();
      const assets = Object.fromEntries(Object.entries(snap.assets).map(([n, a]) => [n, a.sha256]));
      applied = baseline(validator, snap.files, options.assetDir ? {} : assets, '', log);
    }
    const sync = new FsConfigSync(options, store, validator, applied, log);
    if (latest) sync.metrics.version.set(latest.version);
    return sync;
  }

  /** The revision of the applied snapshot (`''` before the first apply). */
  get appliedRevision(): string {
    return this.applied.revision;
  }

  /** Validates without applying: the problems found (empty when `files` would apply). */
  check(files: ConfigFiles) {
    return this.validator.check(files).problems;
  }

  /** What applying `snapshot` would change and send, without doing it. */
  preview(snapshot: Pick<ConfigSnapshot, 'files'>): { diff: ConfigDiff; plan: ReloadPlan } {
    const next = this.validator.validate(snapshot.files);
    const diff = diffConfig(this.applied.config, next);
    return { diff, plan: planReload(diff, this.options) };
  }

  /** Applies a snapshot (see the class). Rejects with {@link FsConfigError} codes; nothing is half-applied. */
  apply(snapshot: ConfigSnapshot, options: ApplyOptions = {}): Promise<ApplyResult> {
    return this.exclusive(async () => {
      const assets = await this.cacheAssets(snapshot);
      const stored = {
        ...this.packer.pack(snapshot.files),
        [MANIFEST]: `${JSON.stringify(assets, null, 1)}\n`,
        [ORIGIN]: `${JSON.stringify({ revision: snapshot.revision, source: snapshot.source })}\n`,
      };
      return this.run(snapshot.files, assets, snapshot.revision, options, (apply) =>
        this.store.commit(stored, {
          source: snapshot.source,
          appliedBy: options.appliedBy ?? 'config-sync',
          message: options.message ?? `revision ${snapshot.revision}`,
          apply,
        }),
      );
    });
  }

  /** Applies the files of kept version `n` again (recorded as a new version marked `rollbackOf: n`). */
  rollback(n: number, options: ApplyOptions = {}): Promise<ApplyResult> {
    return this.exclusive(async () => {
      const stored = (await this.store.get(n)).contents;
      return this.run(unpackFiles(stored), manifestOf(stored), originOf(stored).revision, options, (apply) =>
        this.store.rollback(n, {
          appliedBy: options.appliedBy ?? 'config-sync',
          message: options.message ?? `rollback to version ${n}`,
          apply,
        }),
      );
    });
  }

  /** Every kept version, oldest first. */
  history(): Promise<ConfigVersionInfo[]> {
    return this.store.list();
  }

  private async run(
    files: ConfigFiles,
    assets: AssetManifest,
    revision: string,
    options: ApplyOptions,
    record: (apply: () => Promise<void>) => Promise<ConfigVersionInfo>,
  ): Promise<ApplyResult> {
    const started = performance.now();
    const result: ApplyResult = {
      changed: false,
      version: undefined,
      revision,
      diff: {
        files: { added: [], removed: [], changed: [] },
        sections: { added: [], removed: [], changed: [] },
      },
      assets: diffAssets(this.applied.assets, assets),
      commands: [],
      deferred: [],
      durationMs: 0,
    };
    let outcome = 'failed';
    try {
      let next: ParsedConfig;
      try {
        next = this.validator.validate(files);
      } catch (err) {
        outcome = 'invalid';
        throw err;
      }
      result.diff = diffConfig(this.applied.config, next);
      const fileCount = Object.values(result.diff.files).reduce((n, l) => n + l.length, 0);
      const assetCount = Object.values(result.assets).reduce((n, l) => n + l.length, 0);
      // The first apply is recorded even when the node already runs it, so there is a version to roll back to.
      if (fileCount + assetCount === 0 && (await this.store.latest())) {
        this.applied.revision = revision;
        outcome = 'unchanged';
        return result;
      }
      const plan = planReload(result.diff, this.options);
      result.deferred = plan.deferred;
      await this.guardCalls(plan, options.force ?? false);
      const info = await record(async () => {
        try {
          result.commands = await this.switchTo(next, assets, result, plan);
        } catch (err) {
          outcome =
            err instanceof FsReloadError && err.code === 'FS_CONFIG_RELOAD' ? 'rolled_back' : 'failed';
          throw err;
        }
      });
      this.applied = { config: next, assets, revision };
      result.changed = true;
      result.version = info.version;
      this.metrics.version.set(info.version);
      outcome = 'applied';
      this.log.info(
        {
          version: info.version,
          revision,
          commands: result.commands.map((c) => c.command),
          deferred: plan.deferred,
        },
        'configuration applied',
      );
      return result;
    } catch (err) {
      if (outcome !== 'invalid') this.errors.report(err, { msg: 'configuration not applied', revision });
      else this.log.warn({ err, revision }, 'configuration invalid: not applied');
      throw err;
    } finally {
      result.durationMs = performance.now() - started;
      this.metrics.applies.inc({ result: outcome });
      this.metrics.duration.observe(result.durationMs / 1000);
    }
  }

  /** Writes the files and assets, reloads, and on a refused reply puts everything back and reloads again. */
  private async switchTo(
    next: ParsedConfig,
    assets: AssetManifest,
    result: ApplyResult,
    plan: ReloadPlan,
  ): Promise<ReloadReply[]> {
    const before = this.applied;
    const { files } = result.diff;
    const forward = new Map<string, TreeChange>();
    const backward = new Map<string, TreeChange>();
    for (const name of [...files.added, ...files.changed])
      forward.set(name, { text: next.files[name] as string });
    for (const name of files.removed) forward.set(name, undefined);
    for (const name of [...files.changed, ...files.removed])
      backward.set(name, { text: before.config.files[name] as string });
    for (const name of files.added) backward.set(name, undefined);
    const assetsForward = this.assetChanges(result.assets, assets);
    const assetsBackward = this.assetChanges(diffAssets(assets, before.assets), before.assets);

    await this.assetsCachedOrThrow(before.assets, result.assets);
    await writeTree(this.options.confDir, forward, this.fsync);
    await writeTree(this.assetDir, assetsForward, this.fsync);
    const commands = await this.send(plan);
    if (commands.every((c) => c.ok)) return commands;

    // Put the previous files back and make FreeSWITCH load them again.
    const failed = commands.find((c) => !c.ok) as ReloadReply;
    let recovery: ReloadReply[] = [];
    try {
      await writeTree(this.options.confDir, backward, this.fsync);
      await writeTree(this.assetDir, assetsBackward, this.fsync);
      const undo = planReload(diffConfig(next, before.config), this.options);
      recovery = await this.send(undo);
    } catch (err) {
      throw new FsReloadError(
        'FS_CONFIG_ROLLBACK',
        `${failed.command} failed (${failed.problem}) and putting the previous files back failed: ${(err as Error).message}`,
        commands,
        recovery,
      );
    }
    const recoveryFailed = recovery.find((c) => !c.ok);
    if (recoveryFailed) {
      throw new FsReloadError(
        'FS_CONFIG_ROLLBACK',
        `${failed.command} failed (${failed.problem}); the previous files are back but ${recoveryFailed.command} failed too (${recoveryFailed.problem})`,
        commands,
        recovery,
      );
    }
    throw new FsReloadError(
      'FS_CONFIG_RELOAD',
      `${failed.command} failed (${failed.problem}): the previous configuration was put back and reloaded`,
      commands,
      recovery,
    );
  }

  /** Sends the plan's commands in order, stopping at the first refused one. */
  private async send(plan: ReloadPlan): Promise<ReloadReply[]> {
    const replies: ReloadReply[] = [];
    for (const step of plan.steps) {
      let reply: string;
      try {
        reply = await this.options.esl.api(step.command);
      } catch (err) {
        const e = err as { reply?: string; message?: string };
        reply = e.reply !== undefined ? `-ERR ${e.reply}` : `-ERR ${e.message ?? String(err)}`;
      }
      const problem = replyProblem(step.command, reply);
      const entry: ReloadReply = {
        command: step.command,
        why: step.why,
        reply,
        ok: !problem,
        ...(problem ? { problem } : {}),
      };
      replies.push(entry);
      this.metrics.reloads.inc({ result: problem ? 'failed' : 'ok' });
      if (problem) {
        this.log.warn({ command: step.command, reply }, 'reload command refused');
        break;
      }
    }
    return replies;
  }

  /** Refuses a plan that restarts or stops a profile with calls on it, unless forced. */
  private async guardCalls(plan: ReloadPlan, force: boolean): Promise<void> {
    const profiles = plan.steps.flatMap((s) => (s.interrupts ? [s.interrupts] : []));
    if (profiles.length === 0 || force) return;
    const rows = parseShowJson<{ name?: string }>(
      await this.options.esl.api('show channels as json'),
      'show channels',
    );
    const busy = profiles.filter((p) => rows.some((r) => r.name?.startsWith(`sofia/${p}/`)));
    if (busy.length) {
      throw new FsConfigError(
        'FS_CONFIG_CALLS_UP',
        `the change restarts sofia profile ${busy.join(', ')} with calls up: not applied (apply with force to do it anyway)`,
      );
    }
  }

  /** Copies the snapshot's assets into the content-addressed cache; the manifest of name → sha256. */
  private async cacheAssets(snapshot: ConfigSnapshot): Promise<AssetManifest> {
    const manifest: AssetManifest = {};
    for (const [name, ref] of Object.entries(snapshot.assets)) {
      manifest[name] = ref.sha256;
      if (this.applied.assets[name] === ref.sha256) continue;
      const target = join(this.assetCache, ref.sha256);
      if (await exists(target)) continue;
      await mkdir(this.assetCache, { recursive: true });
      const tmp = `${target}.tmp-${process.pid}`;
      await copyFile(ref.path, tmp);
      await rename(tmp, target);
    }
    return manifest;
  }

  /** Fails before anything is written when a rollback would need an asset copy that is gone. */
  private async assetsCachedOrThrow(previous: AssetManifest, changes: ApplyResult['assets']): Promise<void> {
    for (const name of [...changes.changed, ...changes.removed]) {
      const sha = previous[name] as string;
      if (!(await exists(join(this.assetCache, sha)))) {
        this.log.warn({ name, sha }, 'no copy of the asset being replaced: a rollback would not restore it');
      }
    }
  }

  private assetChanges(changes: ApplyResult['assets'], manifest: AssetManifest): Map<string, TreeChange> {
    const out = new Map<string, TreeChange>();
    for (const name of [...changes.added, ...changes.changed]) {
      out.set(name, { copyFrom: join(this.assetCache, manifest[name] as string) });
    }
    for (const name of changes.removed) out.set(name, undefined);
    return out;
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function baseline(
  validator: ConfigValidator,
  files: ConfigFiles,
  assets: AssetManifest,
  revision: string,
  log: Logger,
): Applied {
  const { config, problems } = validator.check(files);
  if (!config && Object.keys(files).length) {
    log.warn(
      { problems: problems.slice(0, 5) },
      'the applied configuration does not validate: the next apply diffs files only',
    );
  }
  return { config: config ?? { files, sections: new Map() }, assets, revision };
}

function diffAssets(before: AssetManifest, after: AssetManifest): ApplyResult['assets'] {
  const out = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
  for (const [name, sha] of Object.entries(after)) {
    if (before[name] === undefined) out.added.push(name);
    else if (before[name] !== sha) out.changed.push(name);
  }
  for (const name of Object.keys(before)) if (after[name] === undefined) out.removed.push(name);
  return out;
}

function manifestOf(stored: ConfigFiles): AssetManifest {
  const text = stored[MANIFEST];
  return text ? (JSON.parse(text) as AssetManifest) : {};
}

function originOf(stored: ConfigFiles): { revision: string; source: string } {
  const text = stored[ORIGIN];
  return text ? (JSON.parse(text) as { revision: string; source: string }) : { revision: '', source: '' };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

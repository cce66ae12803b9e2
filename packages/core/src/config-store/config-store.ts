import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncDirectory, writeNewFileSynced } from '../fs-durable.js';
import { type Logger, resolveLogger } from '../logger.js';
import { diffFiles } from './diff.js';
import { ConfigStoreError } from './errors.js';
import { type ConfigFiles, checkedNames } from './files.js';

/** Options of {@link ConfigStore.open}. */
export interface ConfigStoreOptions {
  /** The store's directory (created if missing). One writing process per directory. */
  dir: string;
  /** Versions kept; older ones are deleted after each new version (the newest is never deleted). Default 100. */
  retain?: number;
  /** fsync files and directories (turn off only in throwaway tests). Default true. */
  fsync?: boolean;
  logger?: Logger;
  /** The clock of `createdAt`. Default `() => new Date()`. */
  now?: () => Date;
}

/** One file of a version, as listed in its `version.json`. */
export interface ConfigFileInfo {
  bytes: number;
  sha256: string;
}

/** A version's metadata (its `version.json`). */
export interface ConfigVersionInfo {
  version: number;
  createdAt: Date;
  /** Where the configuration came from (`ami://10.0.0.254/sip_additional.conf`, `git:main@3f2a1c`). */
  source: string;
  /** Who or what applied it (`branch-failover sync`, `operator alice`). */
  appliedBy: string;
  message?: string;
  /** Set on a version made by `rollback(n)`: the `n` whose files it restored. */
  rollbackOf?: number;
  files: Readonly<Record<string, ConfigFileInfo>>;
}

/** A version with its files' text. */
export interface ConfigVersion extends ConfigVersionInfo {
  contents: ConfigFiles;
}

/** What a new version records about itself. */
export interface CommitInfo {
  source: string;
  appliedBy: string;
  message?: string;
  /**
   * Applies the files (writes them where the PBX reads them, reloads it) before the version is recorded; if it
   * throws, nothing is recorded and the error is rethrown. So every version is one that was applied.
   */
  apply?: (files: ConfigFiles, version: number) => Promise<void> | void;
}

const VERSION_DIR = /^\d+$/;
const LEFTOVER = /^\.(tmp|trash)-/;

/**
 * Numbered versions of applied configuration, as plain files an operator reads with `ls`, `cat` and `diff -r`:
 *
 * ```
 * <dir>/000007/version.json    number, time, source, who applied it, message, each file's size and sha256
 * <dir>/000007/changes.diff    unified diff from the version before
 * <dir>/000007/files/...       the files themselves (a tree for FreeSWITCH, one to three for Asterisk)
 * ```
 *
 * A version is written whole into a hidden temporary directory (each file fsynced, then the directories), then
 * renamed to its number and the store directory fsynced: a crash at any point leaves either the whole version
 * or none, and the leftovers are removed by the next `open`. Deleting old versions (retention) renames them
 * away first, so no half-deleted version is ever listed. Numbers only grow.
 *
 * @example
 * ```ts
 * const store = await ConfigStore.open({ dir: '/var/lib/pbxkit/config-versions', retain: 50 });
 * const v = await store.commit({ 'sip_synch.conf': text }, { source: 'ami://10.0.0.254/sip_additional.conf', appliedBy: 'sync' });
 * console.log(await store.changes(v.version));
 * await store.rollback(v.version - 1, { appliedBy: 'operator', apply: writeAndReload });
 * ```
 */
export class ConfigStore {
  private writing: Promise<unknown> = Promise.resolve();
  private readonly retain: number;
  private readonly fsync: boolean;
  private readonly now: () => Date;

  private constructor(
    readonly dir: string,
    options: ConfigStoreOptions,
    private readonly log: Logger,
  ) {
    this.retain = options.retain ?? 100;
    this.fsync = options.fsync ?? true;
    this.now = options.now ?? (() => new Date());
  }

  /** Opens (creating) the store and removes what an interrupted write or deletion left. */
  static async open(options: ConfigStoreOptions): Promise<ConfigStore> {
    const retain = options.retain ?? 100;
    if (!(Number.isInteger(retain) && retain >= 1)) {
      throw new ConfigStoreError('CONFIG_STORE_OPTIONS', `retain must be an integer >= 1, got ${retain}`);
    }
    const log = resolveLogger(options.logger, { component: 'config-store', dir: options.dir });
    await mkdir(options.dir, { recursive: true });
    for (const name of await readdir(options.dir)) {
      if (!LEFTOVER.test(name)) continue;
      log.warn({ name }, 'removing what an interrupted write left');
      await rm(join(options.dir, name), { recursive: true, force: true });
    }
    return new ConfigStore(options.dir, options, log);
  }

  /** Every version's metadata, oldest first. */
  async list(): Promise<ConfigVersionInfo[]> {
    const infos: ConfigVersionInfo[] = [];
    for (const n of await this.numbers()) {
      try {
        infos.push(await this.info(n));
      } catch (err) {
        this.log.error({ err, version: n }, 'unreadable version left out of the list');
      }
    }
    return infos;
  }

  /** The newest version's metadata, or `undefined` for an empty store. */
  async latest(): Promise<ConfigVersionInfo | undefined> {
    const n = (await this.numbers()).at(-1);
    return n === undefined ? undefined : this.info(n);
  }

  /** Version `n` with its files, each checked against its sha256 (`CONFIG_STORE_CORRUPT` if one differs). */
  async get(n: number): Promise<ConfigVersion> {
    const info = await this.info(n);
    const contents: Record<string, string> = {};
    for (const [name, expected] of Object.entries(info.files)) {
      let bytes: Buffer;
      try {
        bytes = await readFile(join(this.path(n), 'files', name));
      } catch (err) {
        throw new ConfigStoreError('CONFIG_STORE_CORRUPT', `version ${n}: ${name} cannot be read`, {
          cause: err,
        });
      }
      if (bytes.length !== expected.bytes || sha256(bytes) !== expected.sha256) {
        throw new ConfigStoreError(
          'CONFIG_STORE_CORRUPT',
          `version ${n}: ${name} does not match its checksum`,
        );
      }
      contents[name] = bytes.toString('utf8');
    }
    return { ...info, contents };
  }

  /** The unified diff version `n` recorded against the version before it (kept even once that one is deleted). */
  async changes(n: number): Promise<string> {
    await this.info(n);
    return readFile(join(this.path(n), 'changes.diff'), 'utf8');
  }

  /** A unified diff from version `a` to version `b`. */
  async diff(a: number, b: number): Promise<string> {
    const [from, to] = await Promise.all([this.get(a), this.get(b)]);
    return diffFiles(from.contents, to.contents, `version ${a}`, `version ${b}`);
  }

  /** What committing `files` would change, as a unified diff against the newest version; empty when nothing. */
  async pending(files: ConfigFiles): Promise<string> {
    checkedNames(files);
    const latest = await this.latestContents();
    return diffFiles(latest.contents, files, latest.label, 'pending');
  }

  /**
   * Records `files` as the next version (after `info.apply`, when given, succeeded) and deletes versions past
   * `retain`. Writes one version at a time; resolves with the new version's metadata.
   */
  commit(files: ConfigFiles, info: CommitInfo): Promise<ConfigVersionInfo> {
    return this.exclusive(() => this.write(files, info, undefined));
  }

  /** Records a new version with the files of version `n` (applying them first through `info.apply`). */
  rollback(n: number, info: Omit<CommitInfo, 'source'> & { source?: string }): Promise<ConfigVersionInfo> {
    return this.exclusive(async () => {
      const target = await this.get(n);
      return this.write(target.contents, { ...info, source: info.source ?? `rollback to version ${n}` }, n);
    });
  }

  private async write(
    files: ConfigFiles,
    commit: CommitInfo,
    rollbackOf: number | undefined,
  ): Promise<ConfigVersionInfo> {
    const names = checkedNames(files);
    const latest = await this.latestContents();
    const version = latest.version + 1;
    await commit.apply?.(files, version);

    const fileInfos: Record<string, ConfigFileInfo> = {};
    for (const name of names) {
      const bytes = Buffer.from(files[name] as string, 'utf8');
      fileInfos[name] = { bytes: bytes.length, sha256: sha256(bytes) };
    }
    const info: ConfigVersionInfo = {
      version,
      createdAt: this.now(),
      source: commit.source,
      appliedBy: commit.appliedBy,
      ...(commit.message === undefined ? {} : { message: commit.message }),
      ...(rollbackOf === undefined ? {} : { rollbackOf }),
      files: fileInfos,
    };
    const tmp = join(this.dir, `.tmp-${version}-${randomBytes(4).toString('hex')}`);
    try {
      await this.writeTree(
        tmp,
        names,
        files,
        diffFiles(latest.contents, files, latest.label, `version ${version}`),
        info,
      );
      await rename(tmp, this.path(version)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOTEMPTY' || err.code === 'EEXIST') {
          throw new ConfigStoreError(
            'CONFIG_STORE_CONFLICT',
            `version ${version} was created by another writer`,
            { cause: err },
          );
        }
        throw err;
      });
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    if (this.fsync) await fsyncDirectory(this.dir);
    this.log.info(
      { version, source: info.source, appliedBy: info.appliedBy, files: names.length },
      'version recorded',
    );
    await this.prune();
    return info;
  }

  // The whole version inside `tmp`: files, then the diff, then version.json, then every directory fsynced.
  private async writeTree(
    tmp: string,
    names: string[],
    files: ConfigFiles,
    changes: string,
    info: ConfigVersionInfo,
  ) {
    const dirs = new Set<string>([tmp, join(tmp, 'files')]);
    await mkdir(join(tmp, 'files'), { recursive: true });
    for (const name of names) {
      const path = join(tmp, 'files', name);
      const parent = dirname(path);
      if (!dirs.has(parent)) {
        await mkdir(parent, { recursive: true });
        for (let d = parent; !dirs.has(d); d = dirname(d)) dirs.add(d);
      }
      await writeNewFileSynced(path, files[name] as string, this.fsync);
    }
    await writeNewFileSynced(join(tmp, 'changes.diff'), changes, this.fsync);
    await writeNewFileSynced(join(tmp, 'version.json'), `${JSON.stringify(info, null, 2)}\n`, this.fsync);
    if (!this.fsync) return;
    // Deepest first, so that each directory's entries are durable before its parent's.
    for (const dir of [...dirs].sort((a, b) => b.length - a.length)) await fsyncDirectory(dir);
  }

  private async prune(): Promise<void> {
    const numbers = await this.numbers();
    for (const n of numbers.slice(0, Math.max(0, numbers.length - this.retain))) {
      // Renamed away first (atomic), then deleted: a crash mid-deletion leaves a hidden leftover, not half a version.
      const trash = join(this.dir, `.trash-${n}-${randomBytes(4).toString('hex')}`);
      await rename(this.path(n), trash);
      if (this.fsync) await fsyncDirectory(this.dir);
      await rm(trash, { recursive: true, force: true });
      this.log.debug({ version: n }, 'old version deleted');
    }
  }

  private async latestContents(): Promise<{ version: number; contents: ConfigFiles; label: string }> {
    const n = (await this.numbers()).at(-1);
    if (n === undefined) return { version: 0, contents: {}, label: 'empty' };
    return { version: n, contents: (await this.get(n)).contents, label: `version ${n}` };
  }

  private async info(n: number): Promise<ConfigVersionInfo> {
    if (!Number.isInteger(n) || n < 1)
      throw new ConfigStoreError('CONFIG_STORE_NOT_FOUND', `no version ${n}`);
    let text: string;
    try {
      text = await readFile(join(this.path(n), 'version.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new ConfigStoreError('CONFIG_STORE_NOT_FOUND', `no version ${n}`, { cause: err });
      }
      throw err;
    }
    try {
      const raw = JSON.parse(text) as Omit<ConfigVersionInfo, 'createdAt'> & { createdAt: string };
      if (raw.version !== n || typeof raw.files !== 'object' || raw.files === null)
        throw new Error('unexpected fields');
      return { ...raw, createdAt: new Date(raw.createdAt) };
    } catch (err) {
      throw new ConfigStoreError('CONFIG_STORE_CORRUPT', `version ${n}: version.json cannot be read`, {
        cause: err,
      });
    }
  }

  private async numbers(): Promise<number[]> {
    const names = await readdir(this.dir);
    return names
      .filter((name) => VERSION_DIR.test(name))
      .map(Number)
      .sort((a, b) => a - b);
  }

  private path(n: number): string {
    return join(this.dir, String(n).padStart(6, '0'));
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writing.then(work, work);
    this.writing = run.catch(() => undefined);
    return run;
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

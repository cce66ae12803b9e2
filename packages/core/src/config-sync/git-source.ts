import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DirectorySource } from './directory-source.js';
import { ConfigSourceError } from './errors.js';
import { runGit } from './git.js';
import type { ConfigSnapshot, ConfigSource } from './source.js';

/** Options of {@link GitSource}. */
export interface GitSourceOptions {
  /** The remote: a URL (`https://…`, `ssh://…`, `git@host:repo.git`) or a local path. */
  remote: string;
  /** A branch or a tag. Default `main`. */
  ref?: string;
  /** Where the local checkout lives (created by the first snapshot; owned by this source). */
  checkoutDir: string;
  /** The configuration's folder inside the repository. Default: the repository's root. */
  subdir?: string;
  /** The `git` binary. Default `git` from PATH. */
  git?: string;
  /** Which files are assets (see {@link DirectorySource}). */
  isAsset?: (relativePath: string) => boolean;
}

/**
 * A branch or tag of a git repository as a {@link ConfigSource}, through the `git` command-line tool. Each
 * snapshot fetches the ref and checks it out (detached, forced, untracked files removed) in `checkoutDir`, so
 * the checkout always equals the remote's commit; `revision()` asks the remote with `git ls-remote` without
 * fetching, which is what a polling loop calls.
 */
export class GitSource implements ConfigSource {
  readonly description: string;
  private readonly ref: string;
  private readonly files: DirectorySource;

  constructor(private readonly options: GitSourceOptions) {
    if (!options.remote || !options.checkoutDir) {
      throw new ConfigSourceError('CONFIG_SOURCE_OPTIONS', 'GitSource needs a remote and a checkoutDir');
    }
    this.ref = options.ref ?? 'main';
    if (this.ref.startsWith('-')) {
      throw new ConfigSourceError('CONFIG_SOURCE_OPTIONS', `not a branch or tag: ${this.ref}`);
    }
    this.description = `git:${options.remote}#${this.ref}`;
    this.files = new DirectorySource({
      dir: options.subdir ? join(options.checkoutDir, options.subdir) : options.checkoutDir,
      ...(options.isAsset ? { isAsset: options.isAsset } : {}),
    });
  }

  async snapshot(signal?: AbortSignal): Promise<ConfigSnapshot> {
    const commit = await this.update(signal);
    const snap = await this.files.snapshot();
    return { ...snap, revision: commit, source: `${this.description}@${commit.slice(0, 12)}` };
  }

  /** The commit the ref points to on the remote (a tag is peeled to its commit). */
  async revision(signal?: AbortSignal): Promise<string> {
    const out = await this.git(['ls-remote', '--', this.options.remote, this.ref, `${this.ref}^{}`], signal);
    const lines = out.trim().split('\n').filter(Boolean);
    const peeled = lines.find((l) => l.endsWith('^{}')) ?? lines[0];
    const commit = peeled?.split('\t')[0];
    if (!commit)
      throw new ConfigSourceError('CONFIG_SOURCE_GIT', `${this.description}: no such branch or tag`);
    return commit;
  }

  /** Fetches the ref and makes the checkout that commit exactly; resolves with the commit id. */
  private async update(signal?: AbortSignal): Promise<string> {
    const dir = this.options.checkoutDir;
    if (!existsSync(join(dir, '.git'))) {
      await mkdir(dirname(dir), { recursive: true });
      await mkdir(dir, { recursive: true });
      await this.git(['init', '--quiet', dir], signal);
    }
    const cwd = { cwd: dir };
    await this.git(['fetch', '--quiet', '--no-tags', '--', this.options.remote, this.ref], signal, cwd);
    await this.git(['checkout', '--quiet', '--force', '--detach', 'FETCH_HEAD'], signal, cwd);
    await this.git(['clean', '--quiet', '-ffdx'], signal, cwd);
    return (await this.git(['rev-parse', 'HEAD'], signal, cwd)).trim();
  }

  private git(args: string[], signal?: AbortSignal, extra: { cwd?: string } = {}): Promise<string> {
    return runGit(args, {
      ...extra,
      ...(signal ? { signal } : {}),
      ...(this.options.git ? { git: this.options.git } : {}),
    });
  }
}

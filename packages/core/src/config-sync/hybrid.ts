import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigSourceError } from './errors.js';
import { runGit } from './git.js';
import type { ConfigSource } from './source.js';

/** Options of {@link HybridPublisher}. */
export interface HybridPublisherOptions {
  /** What to publish: usually a {@link RenderSource} over the admin UI's database. */
  source: ConfigSource;
  /** A clone of the repository the nodes pull from, with push access (owned by the publisher). */
  repoDir: string;
  /** The remote to push to, as `git push` names it. Default `origin`. */
  remote?: string;
  /** The branch to commit on and push. Default `main`. */
  branch?: string;
  /** The configuration's folder inside the repository. Default: the root. */
  subdir?: string;
  /** Commit author. Default `pbxkit <pbxkit@localhost>`. */
  author?: { name: string; email: string };
  git?: string;
}

/** What {@link HybridPublisher.publish} did. */
export interface PublishResult {
  /** The commit now at the branch's tip. */
  commit: string;
  /** False when the rendered tree equalled the last commit (nothing committed or pushed). */
  changed: boolean;
}

/**
 * The hybrid design: the admin UI writes the database, this renders it to static files, commits them and
 * pushes; the nodes pull the repository with a {@link GitSource} (told by a webhook or polling). The
 * repository keeps every rendered state, so a node can be moved to any earlier one and a person can review
 * what the database produced with `git log -p`.
 */
export class HybridPublisher {
  private readonly branch: string;
  private readonly remote: string;

  constructor(private readonly options: HybridPublisherOptions) {
    this.branch = options.branch ?? 'main';
    this.remote = options.remote ?? 'origin';
  }

  /** Renders, writes the tree, commits when something changed, pushes. One publish at a time per repoDir. */
  async publish(message = 'render configuration', signal?: AbortSignal): Promise<PublishResult> {
    const snap = await this.options.source.snapshot(signal);
    const root = this.options.subdir ? join(this.options.repoDir, this.options.subdir) : this.options.repoDir;
    await this.git(['checkout', '--quiet', '-B', this.branch], signal);
    await clearTree(root);
    for (const [name, text] of Object.entries(snap.files)) {
      await mkdir(dirname(join(root, name)), { recursive: true });
      await writeFile(join(root, name), text);
    }
    for (const [name, asset] of Object.entries(snap.assets)) {
      await mkdir(dirname(join(root, name)), { recursive: true });
      await copyFile(asset.path, join(root, name));
    }
    await this.git(['add', '--all', '--', this.options.subdir ?? '.'], signal);
    const status = await this.git(['status', '--porcelain'], signal);
    if (status.trim() === '') {
      return { commit: (await this.git(['rev-parse', 'HEAD'], signal)).trim(), changed: false };
    }
    const author = this.options.author ?? { name: 'pbxkit', email: 'pbxkit@localhost' };
    await this.git(['commit', '--quiet', '--no-verify', '-m', `${message} (${snap.revision})`], signal, {
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_COMMITTER_NAME: author.name,
      GIT_COMMITTER_EMAIL: author.email,
    });
    await this.git(['push', '--quiet', this.remote, `HEAD:refs/heads/${this.branch}`], signal);
    return { commit: (await this.git(['rev-parse', 'HEAD'], signal)).trim(), changed: true };
  }

  private git(args: string[], signal?: AbortSignal, env?: Record<string, string>): Promise<string> {
    return runGit(args, {
      cwd: this.options.repoDir,
      ...(signal ? { signal } : {}),
      ...(env ? { env } : {}),
      ...(this.options.git ? { git: this.options.git } : {}),
    });
  }
}

/** Removes every file under `root` except hidden names (`.git`), so files gone from the source go from git. */
async function clearTree(root: string): Promise<void> {
  await mkdir(root, { recursive: true });
  let names: string[];
  try {
    names = await readdir(root);
  } catch (err) {
    throw new ConfigSourceError('CONFIG_SOURCE_READ', `cannot list ${root}`, { cause: err });
  }
  for (const name of names)
    if (!name.startsWith('.')) await rm(join(root, name), { recursive: true, force: true });
}

import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runGit } from '@pbxkit/core';
import { testGit } from '../../../scripts/test-env.js';

/** A bare "remote" and a working clone in `root`, for tests of the git source and the webhook. */
export interface TestRepo {
  remote: string;
  work: string;
  /** Writes `files` (undefined deletes), commits, pushes to `main`; resolves with the commit id. */
  commit(files: Record<string, string | undefined>, message: string): Promise<string>;
  git(args: string[]): Promise<string>;
}

export async function makeRepo(root: string): Promise<TestRepo> {
  const remote = join(root, 'remote.git');
  const work = join(root, 'work');
  const gitBin = testGit();
  const env = {
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
  };
  const git = (args: string[], cwd = work) => runGit(args, { cwd, git: gitBin, env });
  await mkdir(work, { recursive: true });
  await git(['init', '--quiet', '--bare', '--initial-branch=main', remote], root);
  await git(['init', '--quiet', '--initial-branch=main']);
  await git(['remote', 'add', 'origin', remote]);
  return {
    remote,
    work,
    git,
    async commit(files, message) {
      for (const [name, text] of Object.entries(files)) {
        const path = join(work, name);
        if (text === undefined) await rm(path, { force: true });
        else {
          await mkdir(dirname(path), { recursive: true });
          await writeFile(path, text);
        }
      }
      await git(['add', '--all']);
      await git(['commit', '--quiet', '-m', message]);
      await git(['push', '--quiet', 'origin', 'HEAD:refs/heads/main']);
      return (await git(['rev-parse', 'HEAD'])).trim();
    },
  };
}

/** Writes a whole tree into `dir` (a node's conf directory as it is before the first apply). */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
}

import { execFile } from 'node:child_process';
import { ConfigSourceError } from './errors.js';

/** Options of {@link runGit}. */
export interface RunGitOptions {
  cwd?: string;
  /** The `git` binary. Default `git` from PATH. */
  git?: string;
  signal?: AbortSignal;
  /** Extra environment (author identity, `GIT_SSH_COMMAND`). */
  env?: Record<string, string>;
  /** Default 120 s: a clone over a slow link, not forever. */
  timeoutMs?: number;
}

/**
 * Runs `git <args>` and resolves with its stdout. Never prompts (a remote asking for a password fails at once
 * rather than hanging a daemon). Rejects with `CONFIG_SOURCE_GIT` carrying git's stderr.
 */
export function runGit(args: string[], options: RunGitOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      options.git ?? 'git',
      args,
      {
        cwd: options.cwd,
        signal: options.signal,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...options.env },
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const detail = String(stderr).trim() || err.message;
        reject(
          new ConfigSourceError('CONFIG_SOURCE_GIT', `git ${args[0]} failed: ${detail}`, { cause: err }),
        );
      },
    );
  });
}

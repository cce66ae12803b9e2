import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Vitest global setup: every test run gets its own temporary directory (TMPDIR, which `os.tmpdir()` and the
 * child processes tests start both read), removed when the run ends, so the temp dirs tests make are never left
 * behind on the machine, whatever a test forgets or a timeout skips.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'pbxkit-test-run-'));
  // Open like /tmp itself: tests run some servers as another user (PostgreSQL as `postgres` when root).
  chmodSync(dir, 0o1777);
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
}

import { readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { PbxkitError } from '@pbxkit/core';

/** Another live process (or this one) has the spool (or the CDR archive) open. */
export class SpoolLockedError extends PbxkitError {
  constructor(
    readonly path: string,
    readonly pid: number,
    what = 'spool',
  ) {
    super(
      'CDR_SPOOL_LOCKED',
      `the ${what} is in use by process ${pid} (${path}); two writers on one ${what} would lose CDRs. If that ` +
        'process is gone (the machine rebooted and its pid was reused), remove the lock file',
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the spool's lock file (`wx`: created only if absent) with this process's pid. A lock left by a process
 * that no longer runs (`kill -9`, a crash) is taken over; one held by a live process, this one included, is
 * refused: a second CdrSpool on the same directory could delete the first one's active segment.
 */
export async function takeLock(path: string, what = 'spool'): Promise<() => Promise<void>> {
  const mine = `${process.pid} ${hostname()}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(path, mine, { flag: 'wx', mode: 0o640 });
      return async () => {
        // Only our own lock: never remove one a later process took over.
        if ((await readFile(path, 'utf8').catch(() => '')) === mine) await unlink(path).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const [pidText, host] = (await readFile(path, 'utf8').catch(() => '')).trim().split(' ');
    const pid = Number(pidText);
    // A lock from another machine (a spool on shared storage) cannot be checked: respect it.
    if (Number.isInteger(pid) && pid > 0 && (host !== hostname() || alive(pid))) {
      throw new SpoolLockedError(path, pid, what);
    }
    await unlink(path).catch(() => {});
  }
  throw new Error(`could not take the ${what} lock ${path}`);
}

/**
 * A disk that fills up and is freed again, for tests: the real `node:fs/promises` with writes under one
 * directory failing with ENOSPC while `disk.full` is set, as a full file system answers. A test file installs
 * it with
 *
 *   vi.mock('node:fs/promises', async (real) => (await import('./disk-faults.js')).faultyFs(await real()));
 *
 * and sets `disk.dir` (the spool) and `disk.full`. Opening a file for writing fails; a write on a file already
 * open writes the first half of a string (the torn line a full disk can leave) and then fails; `writev`,
 * `writeFile`, `sync` and `datasync` fail. Reads, renames and deletions work, as they do on a full disk.
 */
type Fs = typeof import('node:fs/promises');
type Handle = Awaited<ReturnType<Fs['open']>>;

export const disk = { full: false, dir: '', failures: 0 };

function enospc(syscall: string, path: string): NodeJS.ErrnoException {
  disk.failures++;
  return Object.assign(new Error(`ENOSPC: no space left on device, ${syscall} '${path}'`), {
    code: 'ENOSPC',
    errno: -28,
    syscall,
    path,
  });
}

function full(path: unknown): boolean {
  return disk.full && disk.dir !== '' && String(path).startsWith(disk.dir);
}

const WRITES = new Set(['write', 'writev', 'writeFile', 'appendFile', 'sync', 'datasync']);

function faultyHandle(handle: Handle, path: string): Handle {
  return new Proxy(handle, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      if (typeof prop !== 'string' || !WRITES.has(prop)) return value.bind(target);
      return async (...args: unknown[]) => {
        if (!full(path)) return value.apply(target, args);
        const [data] = args;
        if (prop === 'write' && typeof data === 'string' && data.length > 1) {
          await target.write(data.slice(0, Math.floor(data.length / 2)));
        }
        throw enospc(prop, path);
      };
    },
  });
}

/** `fs/promises` with the faults of {@link disk}. */
export function faultyFs(real: Fs): Fs {
  const open = (async (path: Parameters<Fs['open']>[0], flags?: string | number, mode?: number) => {
    const writing =
      typeof flags === 'string' ? /[wa+]/.test(flags) : typeof flags === 'number' && flags !== 0;
    if (writing && full(path)) throw enospc('open', String(path));
    return faultyHandle(await real.open(path, flags, mode), String(path));
  }) as Fs['open'];
  const writeFile = (async (path: Parameters<Fs['writeFile']>[0], ...rest: unknown[]) => {
    if (full(path)) throw enospc('open', String(path));
    return (real.writeFile as (...a: unknown[]) => Promise<void>)(path, ...rest);
  }) as Fs['writeFile'];
  return { ...real, open, writeFile, default: { ...real, open, writeFile } } as Fs;
}

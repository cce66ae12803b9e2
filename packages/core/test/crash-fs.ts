import type * as FsPromises from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

/**
 * Where to crash: once `armed`, every disk-changing operation (open, a handle's write/sync/close, mkdir,
 * rename, rm) counts one step, and the `killAt`-th one calls `crash()` instead of running.
 */
export interface CrashPlan {
  armed: boolean;
  killAt: number;
  ops: number;
  trace: string[];
  crash(): Promise<never>;
}

type Fs = typeof FsPromises;

/** Handles opened through {@link crashingFs} and not closed yet: a crashed process's kernel closes them. */
export const openHandles = new Set<FileHandle>();

/** `fs/promises` functions that follow `plan`: the same operations, with a crash at the chosen step. */
export function crashingFs(real: Fs, plan: CrashPlan): Pick<Fs, 'open' | 'mkdir' | 'rename' | 'rm'> {
  const step = (name: string): boolean => {
    if (!plan.armed) return false;
    plan.ops++;
    plan.trace.push(name);
    return plan.ops === plan.killAt;
  };
  const handle = (h: FileHandle): FileHandle =>
    new Proxy(h, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (typeof value !== 'function') return value;
        const method = (value as (...args: unknown[]) => unknown).bind(target);
        if (prop !== 'writeFile' && prop !== 'sync' && prop !== 'datasync' && prop !== 'close') return method;
        return (...args: unknown[]) => {
          if (step(`handle.${String(prop)}`)) return plan.crash();
          if (prop === 'close') openHandles.delete(target);
          return method(...args);
        };
      },
    });
  return {
    open: (async (...args: Parameters<Fs['open']>) => {
      if (step('open')) return plan.crash();
      const opened = await real.open(...args);
      openHandles.add(opened);
      return handle(opened);
    }) as Fs['open'],
    mkdir: ((...args: Parameters<Fs['mkdir']>) =>
      step('mkdir') ? plan.crash() : real.mkdir(...args)) as Fs['mkdir'],
    rename: (...args) => (step('rename') ? plan.crash() : real.rename(...args)),
    rm: (...args) => (step('rm') ? plan.crash() : real.rm(...args)),
  };
}

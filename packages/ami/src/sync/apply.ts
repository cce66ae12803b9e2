import { join } from 'node:path';
import { replaceFileAtomic } from '@pbxkit/core';
import type { AmiClient } from '../client/client.js';
import { ensureConnected } from '../client/ensure-connected.js';
import { ConfFile } from '../config/conf-file.js';
import { ConfigUpdate } from '../config/update-actions.js';
import { AmiActionError } from '../errors.js';
import { AsteriskSyncError } from './errors.js';
import { loadedSignature } from './render.js';

/** Where and how a sync writes on the local Asterisk. */
export interface SyncTarget {
  client: AmiClient;
  /** The local file, relative to Asterisk's config directory (`sip_synch.conf`). */
  file: string;
  /** The one module to reload (`chan_sip.so`, `res_pjsip.so`). */
  module: string;
  /** Write the file directly under this directory (Asterisk's `/etc/asterisk`) instead of through AMI. */
  configsPath?: string;
  /** Time each AMI action may take, in ms. */
  timeoutMs?: number;
}

const TEMPLATES = 'TEMPLATES=include';

function isMissing(err: unknown): boolean {
  return err instanceof AmiActionError && /not found/i.test(err.message);
}

/** The local file as Asterisk reads it, templates included, or `undefined` when it does not exist. */
export async function readLocal(target: SyncTarget, file = target.file): Promise<ConfFile | undefined> {
  try {
    return await target.client.getConfig(file, { filter: TEMPLATES, timeoutMs: target.timeoutMs });
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** Whether the local Asterisk reads `file` as `text` would be read. */
export async function localMatches(target: SyncTarget, text: string): Promise<boolean> {
  await ensureConnected(target.client);
  const local = await readLocal(target);
  return (
    local !== undefined && loadedSignature(local) === loadedSignature(ConfFile.parse(text).withInheritance())
  );
}

/**
 * Writes `text` as the local file (see {@link SyncTarget}), reloads the one module and checks by reading the
 * file back through AMI. Either way the switch is atomic: a file renamed into place, or a staging file built
 * through `UpdateConfig` and then copied over the local one by a single `UpdateConfig` with no change (which
 * Asterisk writes whole or not at all). `Reload` is sent as its own action because Asterisk ignores a failed
 * reload asked for inside `UpdateConfig`.
 */
export async function applySyncFile(target: SyncTarget, text: string): Promise<void> {
  const timeoutMs = target.timeoutMs;
  await ensureConnected(target.client).catch((err: Error) => {
    throw new AsteriskSyncError('SYNC_APPLY', `connecting to the local Asterisk: ${err.message}`, {
      cause: err,
    });
  });
  const step = async (what: string, work: () => Promise<unknown>): Promise<void> => {
    try {
      await work();
    } catch (err) {
      throw new AsteriskSyncError('SYNC_APPLY', `${what}: ${(err as Error).message}`, { cause: err });
    }
  };
  if (target.configsPath !== undefined) {
    const path = join(target.configsPath, target.file);
    await step(`writing ${path}`, () => replaceFileAtomic(path, text));
  } else {
    await step(`staging ${target.file} through AMI`, () => stageThroughAmi(target, text));
  }
  await step(`reloading ${target.module}`, () =>
    target.client.action({ Action: 'Reload', Module: target.module }, { timeoutMs }),
  );
  let same: boolean;
  try {
    same = await localMatches(target, text);
  } catch (err) {
    throw new AsteriskSyncError('SYNC_VERIFY', `reading ${target.file} back: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!same) {
    throw new AsteriskSyncError(
      'SYNC_VERIFY',
      `the local Asterisk does not read ${target.file} back as written`,
    );
  }
}

/** The staging file beside the local one: not `*.conf`, so no `#include sip_*.conf` picks it up. */
export function stagingName(file: string): string {
  return `${file}.pbxkit-staging`;
}

async function stageThroughAmi(target: SyncTarget, text: string): Promise<void> {
  const { client, timeoutMs } = target;
  const staging = stagingName(target.file);
  const old = await readLocal(target, staging);
  if (!old) await client.createConfig(staging, { timeoutMs });
  const changes = new ConfigUpdate();
  const seen = new Set<string>();
  for (const c of old?.categories ?? []) {
    const lower = c.name.toLowerCase();
    if (seen.has(lower)) continue;
    seen.add(lower);
    changes.deleteCategory(c.name, { catfilter: TEMPLATES });
  }
  const categories = ConfFile.parse(text).categories;
  const count = new Map<string, number>();
  for (const c of categories) count.set(c.name.toLowerCase(), (count.get(c.name.toLowerCase()) ?? 0) + 1);
  categories.forEach((c, i) => {
    // Asterisk applies a change to every category of the name: one that shares its name (a PJSIP endpoint
    // and its aor) is built under a name of its own, then renamed.
    const shared = (count.get(c.name.toLowerCase()) ?? 0) > 1;
    const name = shared ? `pbxkit-staging-${i}` : c.name;
    // Asterisk reaches a template only through a catfilter; other categories go without the extra header.
    const catfilter = c.isTemplate ? TEMPLATES : undefined;
    changes.newCategory(name, { template: c.isTemplate, inherit: c.templates, allowDuplicates: shared });
    for (const v of c.variables) changes.append(name, v.key, v.value, { object: v.object, catfilter });
    if (shared) changes.renameCategory(name, c.name, { catfilter });
  });
  await client.updateConfig(staging, staging, changes, { timeoutMs });
  if (!(await readLocal(target))) await client.createConfig(target.file, { timeoutMs });
  // No change at all: Asterisk loads the staging file and saves it as the local one in one write.
  await client.action(
    { Action: 'UpdateConfig', SrcFilename: staging, DstFilename: target.file },
    { timeoutMs },
  );
}

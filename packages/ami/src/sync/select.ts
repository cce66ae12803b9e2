import type { ConfCategory } from '../config/conf-category.js';
import type { ConfFile } from '../config/conf-file.js';
import { AsteriskSyncError } from './errors.js';

/** `chan_sip` (`sip_additional.conf`) or PJSIP (endpoint, aor and auth sections). */
export type SyncTechnology = 'sip' | 'pjsip';

/**
 * Which users to copy, as Synch's `filterkey`/`filtervalue`: a category passes when one of its `key` lines
 * (inherited ones included, any case of the key) has a value matching the regular expression; the reserved
 * key `categoryname` matches the section name instead. No filter (or an empty key) keeps every user.
 */
export interface SyncFilter {
  key: string;
  value: string | RegExp;
}

/** The categories a sync writes, in remote file order, and how many of them are users. */
export interface SyncSelection {
  categories: ConfCategory[];
  /** Sections that passed the filter: peers for chan_sip, endpoints for PJSIP. */
  users: number;
}

/** Compiles a filter's regex once, with a clear error naming the bad pattern. */
export function compileSyncFilter(
  filter: SyncFilter | undefined,
): ((c: ConfCategory) => boolean) | undefined {
  if (!filter || filter.key === '') return undefined;
  let re: RegExp;
  try {
    re = typeof filter.value === 'string' ? new RegExp(filter.value) : filter.value;
  } catch (err) {
    throw new AsteriskSyncError(
      'SYNC_OPTIONS',
      `filter value ${JSON.stringify(filter.value)} is not a valid regular expression: ${(err as Error).message}`,
    );
  }
  // A global or sticky regex keeps lastIndex between tests: copy it without those flags.
  if (re.global || re.sticky) re = new RegExp(re.source, re.flags.replace(/[gy]/g, ''));
  const key = filter.key.toLowerCase();
  if (key === 'categoryname') return (c) => re.test(c.name);
  return (c) => c.variables.some((v) => v.key.toLowerCase() === key && re.test(v.value));
}

function typeOf(c: ConfCategory): string {
  return (c.get('type') ?? '').toLowerCase();
}

function namesIn(values: string[]): string[] {
  return values
    .flatMap((v) => v.split(','))
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');
}

/**
 * The categories of `conf` to copy: the users that pass `filter` (non-template sections for chan_sip;
 * `type=endpoint` sections for PJSIP, each with the `aor` and `auth` sections of its own name or named by its
 * `aors`, `auth` and `outbound_auth`), plus every template they inherit from that `conf` holds, so the file
 * written is complete on its own. Pure: reads nothing, changes nothing.
 */
export function selectSyncCategories(
  conf: ConfFile,
  technology: SyncTechnology,
  filter: SyncFilter | undefined,
): SyncSelection {
  const passes = compileSyncFilter(filter) ?? (() => true);
  const isUser =
    technology === 'sip'
      ? (c: ConfCategory) => !c.isTemplate
      : (c: ConfCategory) => !c.isTemplate && typeOf(c) === 'endpoint';
  const users = conf.categories.filter((c) => isUser(c) && passes(c));
  const chosen = new Set<ConfCategory>(users);
  if (technology === 'pjsip') {
    const companions = new Set<string>();
    for (const e of users) {
      companions.add(e.name.toLowerCase());
      for (const n of namesIn([...e.getAll('aors'), ...e.getAll('auth'), ...e.getAll('outbound_auth')]))
        companions.add(n);
    }
    for (const c of conf.categories) {
      const type = typeOf(c);
      if (!c.isTemplate && (type === 'aor' || type === 'auth') && companions.has(c.name.toLowerCase()))
        chosen.add(c);
    }
  }
  // Templates of templates too: walk until nothing new is found.
  const pending = [...chosen];
  while (pending.length > 0) {
    const c = pending.pop() as ConfCategory;
    for (const name of c.templates) {
      const lower = name.toLowerCase();
      const template = conf.categories.find((t) => t.isTemplate && t.name.toLowerCase() === lower);
      if (template && !chosen.has(template)) {
        chosen.add(template);
        pending.push(template);
      }
    }
  }
  return { categories: conf.categories.filter((c) => chosen.has(c)), users: users.length };
}

/** How many users `conf` holds (see {@link selectSyncCategories}), for the shrink guard. */
export function countSyncUsers(conf: ConfFile, technology: SyncTechnology): number {
  return selectSyncCategories(conf, technology, undefined).users;
}

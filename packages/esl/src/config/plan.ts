import type { ConfigDiff } from './model.js';

/** One API command of a reload, and why it is sent. */
export interface ReloadStep {
  command: string;
  why: string;
  /** A profile this step restarts or stops: calls on it would drop. */
  interrupts?: string;
}

/** The commands that make a change live, in order, and what could not be made live without more. */
export interface ReloadPlan {
  steps: ReloadStep[];
  /** Changes that take effect only on a module reload this plan does not do (not in `reloadModules`). */
  deferred: string[];
}

/** Options of {@link planReload}. */
export interface PlanOptions {
  /**
   * Modules (`voicemail`, `conference`) that may be reloaded (`reload mod_<name>`) when their
   * `<name>.conf` changes. Others are listed in `deferred`. Default none: reloading a module drops what it
   * holds (conferences, voicemail sessions), which an operator chooses.
   */
  reloadModules?: readonly string[];
}

const GATEWAY = /^sofia\/([^/]+)\/gateway\/(.+)$/;
const PROFILE = /^sofia\/([^/]+)$/;
const QUEUE = /^callcenter\/queue\/(.+)$/;
const MODULE = /^config\/(.+)\.conf$/;

/**
 * The smallest set of commands that makes `diff` live: `reloadxml` for any XML change (the directory and
 * dialplan are looked up per registration and call, so that is all they need); for sofia, `killgw` for a
 * removed gateway, `killgw` then `rescan` for a changed one and `rescan` for a new one, and a profile `restart`
 * only when the profile's own settings changed (`start`/`stop` for a new/removed profile); for mod_callcenter,
 * `queue load/reload/unload` per queue and `reload mod_callcenter` only when its settings, agents or tiers
 * changed; `reloadacl` for `acl.conf`.
 */
export function planReload(diff: ConfigDiff, options: PlanOptions = {}): ReloadPlan {
  const plan: ReloadPlan = { steps: [], deferred: [] };
  const xmlChanged = [...diff.files.added, ...diff.files.removed, ...diff.files.changed].some((n) =>
    n.endsWith('.xml'),
  );
  if (!xmlChanged) return plan;
  plan.steps.push({ command: 'reloadxml', why: 'XML files changed' });
  const { added, removed, changed } = diff.sections;
  const sectionChanged = (key: string) =>
    added.includes(key) || removed.includes(key) || changed.includes(key);

  // sofia: profiles first (a restart re-reads its gateways, so they need nothing more).
  const restarted = new Set<string>();
  for (const key of removed) {
    const p = PROFILE.exec(key)?.[1];
    if (p) {
      plan.steps.push({ command: `sofia profile ${p} stop`, why: `profile ${p} removed`, interrupts: p });
      restarted.add(p);
    }
  }
  for (const key of changed) {
    const p = PROFILE.exec(key)?.[1];
    if (p) {
      plan.steps.push({
        command: `sofia profile ${p} restart`,
        why: `profile ${p} settings changed`,
        interrupts: p,
      });
      restarted.add(p);
    }
  }
  for (const key of added) {
    const p = PROFILE.exec(key)?.[1];
    if (p) {
      plan.steps.push({ command: `sofia profile ${p} start`, why: `profile ${p} added` });
      restarted.add(p);
    }
  }
  const rescan = new Set<string>();
  eachChange(diff, GATEWAY, (m, verb) => {
    const [, profile, gateway] = m;
    if (restarted.has(profile as string)) return;
    if (verb !== 'added') {
      plan.steps.push({
        command: `sofia profile ${profile} killgw ${gateway}`,
        why: `gateway ${gateway} ${verb}`,
      });
    }
    if (verb !== 'removed') rescan.add(profile as string);
  });
  for (const profile of rescan) {
    plan.steps.push({ command: `sofia profile ${profile} rescan`, why: 'gateways added or changed' });
  }
  if (sectionChanged('config/sofia.conf')) {
    plan.deferred.push(
      'sofia.conf global settings changed: they take effect on `reload mod_sofia` (drops every call)',
    );
  }

  // mod_callcenter.
  if (sectionChanged('config/callcenter.conf')) {
    plan.steps.push({
      command: 'reload mod_callcenter',
      why: 'callcenter settings, agents or tiers changed',
    });
  } else {
    const verbs = { removed: 'unload', changed: 'reload', added: 'load' } as const;
    eachChange(diff, QUEUE, (m, change) => {
      const q = m[1] as string;
      plan.steps.push({
        command: `callcenter_config queue ${verbs[change]} ${q}`,
        why: `queue ${q} ${change}`,
      });
    });
  }

  if (sectionChanged('config/acl.conf')) plan.steps.push({ command: 'reloadacl', why: 'acl.conf changed' });

  for (const key of [...added, ...changed, ...removed]) {
    const module = MODULE.exec(key)?.[1];
    if (!module || ['sofia', 'callcenter', 'acl'].includes(module)) continue;
    if (options.reloadModules?.includes(module)) {
      plan.steps.push({ command: `reload mod_${module}`, why: `${module}.conf changed` });
    } else {
      plan.deferred.push(`${module}.conf changed: it takes effect on \`reload mod_${module}\``);
    }
  }
  return plan;
}

/** Calls `each` for every section key matching `pattern`: removed ones first, then changed, then added. */
function eachChange(
  diff: ConfigDiff,
  pattern: RegExp,
  each: (match: RegExpExecArray, change: 'removed' | 'changed' | 'added') => void,
): void {
  for (const change of ['removed', 'changed', 'added'] as const) {
    for (const key of diff.sections[change]) {
      const m = pattern.exec(key);
      if (m) each(m, change);
    }
  }
}

/**
 * Whether FreeSWITCH's reply to `command` says it worked; the reason when it did not. Reads the reply, not
 * only its prefix: `reloadxml` answers a malformed file with `+OK [[error near line 6802]: missing >]`, and
 * `sofia profile <unknown> rescan` with `Invalid Profile [name]`, neither starting with `-ERR`.
 */
export function replyProblem(command: string, reply: string): string | undefined {
  const text = reply.trim();
  const lines = text.split('\n').map((l) => l.trim());
  if (command.includes(' killgw ') && /^-ERR no such gateway/.test(text)) return undefined;
  const err = lines.find((l) => l.startsWith('-ERR') || l.startsWith('-USAGE'));
  if (err) return err;
  if (command === 'reloadxml') {
    return /^\+OK \[Success\]$/.test(text) ? undefined : `reloadxml did not succeed: ${text}`;
  }
  if (/^Invalid Profile/.test(text)) return text;
  if (command.startsWith('sofia profile ') && command.endsWith(' rescan')) {
    if (lines.some((l) => /^Reload XML \[(?!Success)/.test(l))) return text;
    return lines.includes('+OK scan complete') ? undefined : `no "+OK scan complete" in: ${text}`;
  }
  if (command.startsWith('reload ')) {
    return lines.includes('+OK module loaded') ? undefined : `the module was not loaded again: ${text}`;
  }
  if (command === 'reloadacl' || command.startsWith('callcenter_config ') || command.includes(' killgw ')) {
    return text.startsWith('+OK') ? undefined : `unexpected reply: ${text}`;
  }
  return undefined;
}

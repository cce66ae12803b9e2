import { percentDecode } from '@pbxkit/core';
import { CdrParseError } from '../errors.js';
import type { CdrApplication, CdrCallflow, CdrHold, CdrLeg, CdrRecord } from '../record.js';
import { child, children, leafMap, parseXmlTree, type XmlElement } from './xml-tree.js';

const LEAF_PARENTS = new Set(['variables']);

/** Options of {@link parseCdr}. */
export interface ParseCdrOptions {
  /**
   * The leg when the transport says it: `a` when the `uuid` query parameter or the file name starts with
   * `a_` (mod_xml_cdr's `prefix-a-leg`). Without it the leg is read from the content.
   */
  leg?: CdrLeg;
}

/**
 * Normalises the variable names FreeSWITCH writes unchecked, as FusionPBX's repairs do: `set x` → `x`,
 * `^^,x` (a custom array separator) → `x`, `nolocal:x` → `x`, leading spaces removed.
 */
export function normaliseVariableName(name: string): string {
  const first = name.charCodeAt(0);
  // Fast path: an ordinary name (letter, digit or underscore first, no space).
  if ((first >= 97 && first <= 122) || first === 95 || (first >= 65 && first <= 90)) {
    if (name.indexOf(' ') === -1 && name.indexOf(':') === -1) return name;
  }
  let out = name.trim();
  if (out.startsWith('set ')) out = out.slice(4).trim();
  if (out.startsWith('^^') && out.length > 3) out = out.slice(3);
  if (out.startsWith('nolocal:')) out = out.slice(8);
  return out;
}

function int(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function epochDate(seconds: string | undefined, micros: string | undefined): Date | undefined {
  const us = int(micros);
  if (us !== undefined && us > 0) return new Date(Math.floor(us / 1000));
  const s = int(seconds);
  return s !== undefined && s > 0 ? new Date(s * 1000) : undefined;
}

function applications(parent: XmlElement | undefined): CdrApplication[] {
  return children(parent, 'application').map((a) => ({
    name: a.attrs?.app_name ?? '',
    data: a.attrs?.app_data ?? '',
    stamp: int(a.attrs?.app_stamp),
  }));
}

function nested(element: XmlElement): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of element.children) out[c.name] = c.children.length ? nested(c) : c.text;
  return out;
}

function profiles(callerProfile: XmlElement | undefined, name: string): Array<Record<string, string>> {
  const holder = child(callerProfile, name);
  if (!holder) return [];
  const inner = holder.children.filter((c) => c.children.length > 0);
  return inner.length ? inner.map(leafMap) : [leafMap(holder)];
}

function callflow(element: XmlElement): CdrCallflow {
  const extension = child(element, 'extension');
  const profile = child(element, 'caller_profile');
  const times: Record<string, number> = {};
  for (const [k, v] of Object.entries(leafMap(child(element, 'times')))) {
    const n = int(v);
    if (n !== undefined) times[k] = n;
  }
  return {
    dialplan: element.attrs?.dialplan,
    uniqueId: element.attrs?.['unique-id'],
    cloneOf: element.attrs?.['clone-of'],
    profileIndex: int(element.attrs?.profile_index),
    extension: extension
      ? {
          name: extension.attrs?.name,
          number: extension.attrs?.number,
          applications: applications(extension),
        }
      : undefined,
    callerProfile: leafMap(profile),
    origination: profiles(profile, 'origination'),
    originator: profiles(profile, 'originator'),
    originatee: profiles(profile, 'originatee'),
    times,
  };
}

function holdRecord(element: XmlElement | undefined): CdrHold[] {
  return children(element, 'hold').map((h) => ({
    on: int(h.attrs?.on),
    off: int(h.attrs?.off),
    bridgedTo: h.attrs?.['bridged-to'],
  }));
}

/**
 * A b-leg was originated by another channel: it has `originating_leg_uuid`, or an `originator` profile.
 * (channel_data's `direction` is no guide: an a-leg placed by `originate` is `outbound` too.)
 */
function legFromContent(variables: Record<string, string>, callflows: CdrCallflow[]): CdrLeg {
  if (variables.originating_leg_uuid) return 'b';
  if (callflows.some((cf) => cf.originator.length > 0)) return 'b';
  return 'a';
}

/**
 * Parses FreeSWITCH XML CDR text (the transport encoding already removed: see `decodeCdrBody`). Each variable
 * value is URL-decoded exactly once. Tolerates the invalid element names real CDRs contain.
 *
 * @throws {CdrParseError} on truncated XML, a root that is not `<cdr>`, or a CDR with no call uuid.
 */
export function parseCdr(xml: string, options: ParseCdrOptions = {}): CdrRecord {
  // Null-prototype maps: a variable named `__proto__` must stay a variable.
  const variables: Record<string, string> = Object.create(null);
  const variableLists: Record<string, string[]> = Object.create(null);
  const root = parseXmlTree(xml, LEAF_PARENTS, (_parent, rawName, text) => {
    const name = normaliseVariableName(rawName);
    if (!name) return;
    const value = percentDecode(text);
    const previous = variables[name];
    if (previous === undefined) {
      variables[name] = value;
      return;
    }
    const list = variableLists[name];
    if (list) list.push(value);
    else variableLists[name] = [previous, value];
  });
  if (root.name !== 'cdr') throw new CdrParseError(`root element is <${root.name}>, not <cdr>`);
  const callflows = children(root, 'callflow').map(callflow);
  const uuid = variables.uuid || variables.call_uuid || callflows[0]?.callerProfile.uuid;
  if (!uuid) throw new CdrParseError('the CDR has no call uuid (variables/uuid, variables/call_uuid)');
  const callStats = child(root, 'call-stats');
  return {
    uuid,
    leg: options.leg ?? legFromContent(variables, callflows),
    coreUuid: root.attrs?.['core-uuid'],
    switchname: root.attrs?.switchname,
    channelData: leafMap(child(root, 'channel_data')),
    callStats: callStats ? nested(callStats) : {},
    variables,
    variableLists,
    appLog: applications(child(root, 'app_log')),
    callflows,
    holdRecord: holdRecord(child(root, 'hold-record')),
    startedAt: epochDate(variables.start_epoch, variables.start_uepoch),
    answeredAt: epochDate(variables.answer_epoch, variables.answer_uepoch),
    endedAt: epochDate(variables.end_epoch, variables.end_uepoch),
    xml,
  };
}

/** The leg named by a `uuid` query parameter or a file name: `a_<uuid>` is the a-leg. */
export function legFromName(name: string | undefined): CdrLeg | undefined {
  if (!name) return undefined;
  const base = name.slice(name.lastIndexOf('/') + 1);
  return base.startsWith('a_') ? 'a' : undefined;
}

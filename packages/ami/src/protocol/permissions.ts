/**
 * Asterisk's manager classes and their bits (`EVENT_FLAG_*` of `manager.h`, named as in manager.c's
 * `perms[]`). Each event belongs to one class (`OriginateResponse`: `call`); each action needs one of its
 * classes in the user's `write=`; a session receives an event only when its event mask (its `read=` narrowed
 * by the login `Events:` or an `Events` action) holds the event's class.
 */
export const AMI_CLASSES = {
  system: 1 << 0,
  call: 1 << 1,
  log: 1 << 2,
  verbose: 1 << 3,
  command: 1 << 4,
  agent: 1 << 5,
  user: 1 << 6,
  config: 1 << 7,
  dtmf: 1 << 8,
  reporting: 1 << 9,
  cdr: 1 << 10,
  dialplan: 1 << 11,
  originate: 1 << 12,
  agi: 1 << 13,
  cc: 1 << 15,
  aoc: 1 << 16,
  test: 1 << 17,
  security: 1 << 18,
  message: 1 << 30,
  all: 0x7fffffff,
  none: 0,
} as const;

/** A class name of {@link AMI_CLASSES}. */
export type AmiClass = keyof typeof AMI_CLASSES;

const LABELS = Object.entries(AMI_CLASSES) as Array<[AmiClass, number]>;

// manager.c's ast_instring: a label is in a comma list when it equals the last item or starts with an
// earlier one (so an empty earlier item matches every label). Case matters.
function inList(list: string, label: string): boolean {
  const items = list.split(',');
  const last = items.length - 1;
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as string;
    if (i === last) return item === label;
    if (label.startsWith(item)) return true;
  }
  return false;
}

/**
 * The bits of a class list as `manager.conf` reads `read=` and `write=` (`system,call,agent`; `all`; an
 * unknown or misspelt name counts for nothing, and names are case-sensitive).
 */
export function parseAmiClasses(list: string): number {
  let mask = 0;
  for (const [label, bit] of LABELS) if (inList(list, label)) mask |= bit;
  return mask;
}

const TRUE_WORDS = ['yes', 'true', 'y', 't', '1', 'on'];
const FALSE_WORDS = ['no', 'false', 'n', 'f', '0', 'off'];

/**
 * The event mask Asterisk reads from a login's `Events:` header or an `Events` action's `EventMask`: digits
 * are the mask itself, `off`/`no`/`false` none, `on`/`yes`/`true` every class, anything else a class list
 * (see {@link parseAmiClasses}). `undefined` for an empty value: a login then keeps the user's `read=`
 * classes, an `Events` action is refused (`Invalid event mask`). The session gets this mask narrowed to its
 * `read=` classes.
 */
export function parseAmiEventMask(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (/^[0-9]+$/.test(text)) return Number.parseInt(text, 10) | 0;
  const lower = text.toLowerCase();
  if (FALSE_WORDS.includes(lower)) return 0;
  if (TRUE_WORDS.includes(lower)) return AMI_CLASSES.all;
  return parseAmiClasses(text);
}

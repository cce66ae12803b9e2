import { AMI_CLASSES, type AmiClass, parseAmiClasses } from '@pbxkit/ami';

/**
 * The classes an action needs, one of which must be in the user's `write=` (as registered by Asterisk 22's
 * main/manager.c and a few common modules). An empty list: anyone logged in may run it. Actions not listed
 * here need nothing unless `onAction(name, handler, { privilege })` says otherwise.
 */
const ACTION_CLASSES: Record<string, readonly AmiClass[]> = {
  ping: [],
  events: [],
  logoff: [],
  login: [],
  challenge: [],
  listcommands: [],
  waitevent: [],
  hangup: ['system', 'call'],
  status: ['system', 'call', 'reporting'],
  setvar: ['call'],
  getvar: ['call', 'reporting'],
  getconfig: ['system', 'config'],
  getconfigjson: ['system', 'config'],
  updateconfig: ['config'],
  createconfig: ['config'],
  listcategories: ['config'],
  redirect: ['call'],
  atxfer: ['call'],
  cancelatxfer: ['call'],
  blindtransfer: ['call'],
  originate: ['originate'],
  command: ['command'],
  extensionstate: ['call', 'reporting'],
  presencestate: ['call', 'reporting'],
  absolutetimeout: ['system', 'call'],
  mailboxstatus: ['call', 'reporting'],
  mailboxcount: ['call', 'reporting'],
  sendtext: ['call'],
  userevent: ['user'],
  coresettings: ['system', 'reporting'],
  corestatus: ['system', 'reporting'],
  reload: ['config', 'system'],
  loggerrotate: ['system', 'reporting'],
  coreshowchannels: ['system', 'reporting'],
  coreshowchannelmap: ['system', 'reporting'],
  moduleload: ['system'],
  modulecheck: ['system'],
  filter: ['system'],
  aocmessage: ['aoc'],
  dbget: ['system', 'reporting'],
  dbput: ['system'],
  dbdel: ['system'],
  queuestatus: [],
  queuesummary: [],
  queueadd: ['agent'],
  queueremove: ['agent'],
  queuepause: ['agent'],
  mixmonitor: ['system'],
  park: ['call'],
};

/** The class of the events Asterisk sends, for the fake's event filtering and `Privilege:` line. */
const EVENT_CLASSES: Record<string, AmiClass> = {
  agentcalled: 'agent',
  agentcomplete: 'agent',
  agentconnect: 'agent',
  agentringnoanswer: 'agent',
  bridgecreate: 'call',
  bridgedestroy: 'call',
  bridgeenter: 'call',
  bridgeleave: 'call',
  cdr: 'cdr',
  cel: 'call',
  contactstatus: 'system',
  devicestatechange: 'call',
  dialbegin: 'call',
  dialend: 'call',
  dialstate: 'call',
  dtmfbegin: 'dtmf',
  dtmfend: 'dtmf',
  extensionstatus: 'call',
  fullybooted: 'system',
  hangup: 'call',
  hanguprequest: 'call',
  hold: 'call',
  localbridge: 'call',
  messagewaiting: 'call',
  musiconholdstart: 'call',
  musiconholdstop: 'call',
  newaccountcode: 'call',
  newcallerid: 'call',
  newchannel: 'call',
  newconnectedline: 'call',
  newexten: 'dialplan',
  newstate: 'call',
  originateresponse: 'call',
  peerstatus: 'system',
  queuecallerabandon: 'agent',
  queuecallerjoin: 'agent',
  queuecallerleave: 'agent',
  queuememberstatus: 'agent',
  registry: 'system',
  reload: 'system',
  shutdown: 'system',
  softhanguprequest: 'call',
  successfulauth: 'security',
  unhold: 'call',
  userevent: 'user',
  varset: 'dialplan',
};

/** The bits of a class list given as `'call,system'` or `['call', 'system']`. */
export function classBits(classes: string | readonly string[]): number {
  return parseAmiClasses(typeof classes === 'string' ? classes : classes.join(','));
}

/** The classes action `name` (lower case) needs; `undefined` for an action the table does not know. */
export function actionClasses(name: string): number | undefined {
  const classes = ACTION_CLASSES[name];
  return classes === undefined ? undefined : classBits(classes);
}

/**
 * The class of an event: its `Privilege:` value when given (`call,all`: `all` itself names no class), else
 * the class Asterisk gives an event of that name, else 0 (unknown).
 */
export function eventClass(name: string, privilege: string | undefined): number {
  if (privilege !== undefined) {
    return classBits(privilege.split(',').filter((c) => c !== 'all'));
  }
  const known = EVENT_CLASSES[name.toLowerCase()];
  return known === undefined ? 0 : AMI_CLASSES[known];
}

/** How Asterisk prints a class in an event's `Privilege:` line: `call,all` (manager.c authority_to_str). */
export function privilegeText(bits: number): string {
  const labels = (Object.entries(AMI_CLASSES) as Array<[AmiClass, number]>)
    .filter(([label, bit]) => label !== 'none' && (bits & bit) !== 0)
    .map(([label]) => label);
  return labels.length > 0 ? labels.join(',') : '<none>';
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSyncFilter, type SyncTechnology } from '@pbxkit/ami';
import type { SipTransport } from '@pbxkit/core';
import { parse as parseYaml } from 'yaml';
import { parseLenientJson } from './lenient-json.js';
import { ConfigError, lowerKeys, Section } from './reader.js';

export { ConfigError } from './reader.js';

/** An AMI account: Synch's `amiremote` / `amilocal`. */
export interface AmiSettings {
  host: string;
  port: number;
  username: string;
  password: string;
}

/** Everything the daemon runs with, checked, in milliseconds where Synch says seconds. */
export interface BranchSettings {
  /** pino level, from Synch's `loglevel.default` (`Information` → `info`, `Critical` → `fatal`). */
  logLevel: string;
  probe: {
    /** `ami` (Synch's AMI Ping), `tcp` (connect to the AMI port) or `sip` (OPTIONS to `sipport`). */
    type: 'ami' | 'tcp' | 'sip';
    policy: 'synch' | 'gdnsd';
    failureTolerance: number;
    aliveThreshold: number;
    errorPenaltyPoints: number;
    intervalMs: number;
    timeoutMs: number;
    sipPort: number;
  };
  remote: AmiSettings;
  local: AmiSettings;
  sync: {
    enabled: boolean;
    technology: SyncTechnology;
    remoteFiles: string[];
    localFile: string;
    /** 0: once at start only. */
    intervalMs: number;
    filter: { key: string; value: string } | undefined;
    /** Set when the file is written directly (`applymode: file`, the default with `localconfigspath`). */
    localConfigsPath: string | undefined;
    maxShrink: number;
    versionsDir: string;
    retain: number;
  };
  dns: {
    listenAddress: string;
    port: number;
    zone: string;
    record: string;
    recordTtl: number;
    targets: { normal: string[]; failover: string[] };
    forwarder: string | undefined;
    soa: { refresh: number; retry: number; expire: number; minimum: number };
    ttl: number;
    /** Synch's `defaultstate`; `undefined` (Synch's `Init`): answer the main PBX, report `Init`. */
    defaultState: 'Normal' | 'Failover' | undefined;
    srv: { main?: string; local?: string; owner?: string; transports?: SipTransport[]; naptr: boolean };
  };
  status: { token: string; listenAddress: string; port: number; httpPort: number | undefined };
}

/** What {@link loadSettings} gives: the settings and the keys nobody reads (typos, most likely). */
export interface LoadedSettings {
  settings: BranchSettings;
  unknownKeys: string[];
}

const LOG_LEVELS: Record<string, string> = {
  trace: 'trace',
  debug: 'debug',
  information: 'info',
  info: 'info',
  warning: 'warn',
  warn: 'warn',
  error: 'error',
  critical: 'fatal',
  fatal: 'fatal',
  none: 'silent',
};

const SECTIONS = [
  'loglevel',
  'probemonitor',
  'amiremote',
  'amilocal',
  'syncmanager',
  'dnsservice',
  'servicecontrol',
];

/** Reads and checks a settings file: Synch's `appsettings.json` as is, or JSON/YAML with our extensions. */
export function loadSettings(path: string): LoadedSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = /\.ya?ml$/i.test(path) ? parseYaml(text) : parseLenientJson(text);
  } catch (err) {
    throw new ConfigError(
      `${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(err as Error).message}`,
    );
  }
  try {
    return parseSettings(data);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${path}: ${err.message}`);
    throw err;
  }
}

/** Checks parsed settings (see {@link loadSettings}); every problem is a `ConfigError` naming the key. */
export function parseSettings(data: unknown): LoadedSettings {
  const root = new Section('settings', lowerKeys(data));
  const sections = Object.fromEntries(SECTIONS.map((s) => [s, new Section(s, root.raw(s))])) as Record<
    string,
    Section
  >;
  const s = (name: string) => sections[name] as Section;

  const level = s('loglevel').str('default', 'Information');
  const logLevel = LOG_LEVELS[level.toLowerCase()];
  if (!logLevel)
    s('loglevel').fail(
      'default',
      `expected Trace, Debug, Information, Warning, Error or Critical, got ${JSON.stringify(level)}`,
    );

  const pm = s('probemonitor');
  const intervalMs = pm.num('interval', { fallback: 5, min: 0.05 }) * 1000;
  const timeoutMs = pm.has('timeout')
    ? pm.num('timeout', { min: 0.01 }) * 1000
    : Math.round(intervalMs * 0.8);
  if (timeoutMs >= intervalMs)
    pm.fail('timeout', `must be below probemonitor.interval (${intervalMs / 1000} s)`);
  const probe = {
    type: pm.oneOf('type', ['ami', 'tcp', 'sip'] as const, 'ami'),
    policy: pm.oneOf('policy', ['synch', 'gdnsd'] as const, 'synch'),
    failureTolerance: pm.num('failureTolerance', { fallback: 5, integer: true, min: 1 }),
    aliveThreshold: pm.num('aliveThreshold', { fallback: 5, integer: true, min: 1 }),
    errorPenaltyPoints: pm.num('errorPenaltyPoints', { fallback: 1, integer: true, min: 0 }),
    intervalMs,
    timeoutMs,
    sipPort: pm.port('sipport', 5060),
  };

  const ami = (name: string, host: string | undefined): AmiSettings => {
    const sec = s(name);
    return {
      host: host ?? sec.str('hostname'),
      port: sec.port('port', 5038),
      username: sec.str('username'),
      password: sec.str('password'),
    };
  };
  const remote = ami('amiremote', undefined);
  // Synch's amilocal has no hostname (always 127.0.0.1); ours may name one.
  const local = ami('amilocal', s('amilocal').str('hostname', '127.0.0.1'));

  const sm = s('syncmanager');
  const technology = sm.oneOf('technology', ['sip', 'pjsip'] as const, 'sip');
  const remoteName = sm.str(
    'remotefilename',
    technology === 'sip' ? 'sip_additional.conf' : 'pjsip.endpoint.conf,pjsip.aor.conf,pjsip.auth.conf',
  );
  const remoteFiles = remoteName
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  if (remoteFiles.length === 0) sm.fail('remotefilename', 'must name a file');
  const filterKey = sm.str('filterkey', '');
  const filterValue = sm.str('filtervalue', '');
  const filter = filterKey === '' ? undefined : { key: filterKey, value: filterValue };
  try {
    compileSyncFilter(filter);
  } catch (err) {
    sm.fail('filtervalue', (err as Error).message);
  }
  const configsPath = sm.optStr('localconfigspath');
  const applyMode = sm.oneOf('applymode', ['file', 'ami'] as const, configsPath ? 'file' : 'ami');
  if (applyMode === 'file' && !configsPath) sm.fail('applymode', '"file" needs syncmanager.localconfigspath');
  const sync = {
    enabled: sm.has('remotefilename') || sm.has('filterkey') || sm.has('localconfigspath'),
    technology,
    remoteFiles,
    localFile: sm.str('localfilename', technology === 'sip' ? 'sip_synch.conf' : 'pjsip_synch.conf'),
    intervalMs: sm.num('interval', { fallback: 300, min: 0 }) * 1000,
    filter,
    localConfigsPath: applyMode === 'file' ? configsPath : undefined,
    maxShrink: sm.num('maxshrink', { fallback: 0.5, min: 0, max: 1 }),
    versionsDir: sm.str(
      'versionsdir',
      configsPath ? join(configsPath, 'synch', 'versions') : '/var/lib/pbxkit-branch-failover/versions',
    ),
    retain: sm.num('retain', { fallback: 100, integer: true, min: 1 }),
  };

  const dn = s('dnsservice');
  const srv = dn.section('srv');
  const transports = srv.has('transports')
    ? String(srv.str('transports'))
        .split(',')
        .map((t) => t.trim().toLowerCase())
    : undefined;
  if (transports?.some((t) => !['udp', 'tcp', 'tls'].includes(t)))
    srv.fail('transports', `expected udp, tcp and/or tls, got ${JSON.stringify(srv.raw('transports'))}`);
  const defaultState = dn.has('defaultstate')
    ? dn.oneOf('defaultstate', ['Normal', 'Failover'] as const)
    : undefined;
  const dns = {
    listenAddress: dn.ips('listenaddress', { fallback: '0.0.0.0' })[0] as string,
    port: dn.port('port', 53),
    zone: dn.str('domain'),
    record: dn.str('record', 'sip'),
    recordTtl: dn.num('recordttl', { fallback: 30, integer: true, min: 0 }),
    targets: {
      normal: dn.ips('targetnormal', { list: true }),
      failover: dn.ips('targetfailover', { list: true }),
    },
    forwarder: dn.optStr('forwarder'),
    soa: {
      refresh: dn.num('refreshinterval', { fallback: 3600, integer: true, min: 0 }),
      retry: dn.num('retryinterval', { fallback: 600, integer: true, min: 0 }),
      expire: dn.num('expireinterval', { fallback: 86400, integer: true, min: 0 }),
      minimum: dn.num('minttl', { fallback: 30, integer: true, min: 0 }),
    },
    ttl: dn.num('ttl', { fallback: 300, integer: true, min: 0 }),
    defaultState,
    srv: {
      main: srv.optStr('main'),
      local: srv.optStr('local'),
      owner: srv.optStr('owner'),
      transports: transports as SipTransport[] | undefined,
      naptr: srv.has('naptr') ? srv.raw('naptr') !== false && srv.raw('naptr') !== 'false' : true,
    },
  };

  const sc = s('servicecontrol');
  const token = sc.str('token');
  if (token.trim() === '') sc.fail('token', 'must not be empty');
  const status = {
    token,
    listenAddress: sc.ips('listenaddress', { fallback: '127.0.0.1' })[0] as string,
    port: sc.port('port', 65038),
    httpPort: sc.has('httpport') ? sc.port('httpport') : undefined,
  };

  const unknownKeys = [
    ...root.unknown().map((k) => k.replace(/^settings\./, '')),
    ...Object.values(sections).flatMap((sec) => sec.unknown()),
    ...srv.unknown(),
  ];
  return {
    settings: { logLevel: logLevel as string, probe, remote, local, sync, dns, status },
    unknownKeys,
  };
}

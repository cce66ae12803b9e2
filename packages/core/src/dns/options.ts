import { isIP } from 'node:net';
import type { Logger } from '../logger.js';
import type { MetricsOptions } from '../metrics.js';
import { DnsConfigError } from './errors.js';

/** Which PBX the SIP record points at: the main one, or the branch's local one while the main is unreachable. */
export type DnsState = 'normal' | 'failover';

/** SIP transports published as SRV (`_sip._udp`, `_sip._tcp`, `_sips._tcp`) and NAPTR records. */
export type SipTransport = 'udp' | 'tcp' | 'tls';

/**
 * Options of {@link DnsResponder}. Names are relative to `zone` unless they end with a dot (`pbx.example.com.`)
 * or already end with the zone; `@` is the zone itself.
 *
 * Synch's `dnsservice` settings map onto them as: `listenaddress` → `listen.address`, `domain` → `zone`,
 * `record` → `record`, `recordttl` → `recordTtl`, `targetnormal`/`targetfailover` → `targets.normal`/
 * `targets.failover`, `forwarder` → `forwarder`, `refreshinterval`/`retryinterval`/`expireinterval`/`minttl`
 * → `soa.refresh`/`retry`/`expire`/`minimum`, `ttl` → `ttl`, `defaultstate` → `state`.
 */
export interface DnsResponderOptions extends MetricsOptions {
  /** The zone the responder is authoritative for, e.g. `branch.example.com`. */
  zone: string;
  /** The SIP record whose A/AAAA answers follow the state. Default `sip`. */
  record?: string;
  /** TTL of the SIP record's A/AAAA answers, in seconds: how long a handset keeps a switched answer. Default 30. */
  recordTtl?: number;
  /**
   * Addresses (IPv4 and/or IPv6: A answers the first, AAAA the second) the SIP record answers in each state:
   * `normal` is the main PBX, `failover` the branch's local one. They are also the addresses of the SRV
   * targets `srv.main` and `srv.local`.
   */
  targets: { normal: string | readonly string[]; failover: string | readonly string[] };
  /** State at start. Default `normal`. */
  state?: DnsState;
  /** TTL of every other record (SOA, NS, SRV, NAPTR, hosts), in seconds. Default 300. */
  ttl?: number;
  soa?: {
    /** SOA MNAME. Default the first name server. */
    primary?: string;
    /** SOA RNAME, the zone contact as a name (`hostmaster` → hostmaster@zone). Default `hostmaster`. */
    admin?: string;
    /** Seconds. Defaults: refresh 3600, retry 600, expire 86400. */
    refresh?: number;
    retry?: number;
    expire?: number;
    /** Negative-caching TTL in seconds (RFC 2308): how long NXDOMAIN/NODATA are kept. Default 30. */
    minimum?: number;
    /** First serial; default the current Unix time in seconds. Every change of answers increases it. */
    serial?: number;
  };
  /** NS records of the zone, with their addresses when inside it. Default one, `ns`, without addresses. */
  nameServers?: ReadonlyArray<string | { name: string; addresses?: string | readonly string[] }>;
  /** Other fixed names of the zone and their addresses, e.g. `{ provisioning: '192.0.2.5' }`. */
  hosts?: Readonly<Record<string, string | readonly string[]>>;
  srv?: {
    /**
     * Where the SRV (`_sip._udp.<owner>`…) and NAPTR records live. Default the SIP record, so one name typed
     * into every handset serves both the A-only ones and the SRV-capable ones; `@` puts them at the zone.
     */
    owner?: string;
    /** Target host of priority 10, answering `targets.normal`. Default `main`. */
    main?: string;
    /** Target host of priority 20, answering `targets.failover`. Default `local`. */
    local?: string;
    /** Transports published, in NAPTR order. Default udp, tcp, tls. */
    transports?: readonly SipTransport[];
    /** SIP ports. Defaults: udp and tcp 5060, tls 5061. */
    ports?: Partial<Record<SipTransport, number>>;
    /** Publish NAPTR records (RFC 3263) pointing at the SRV records. Default true. */
    naptr?: boolean;
  };
  listen?: {
    /** Default `0.0.0.0`; `::` listens on IPv6 (and IPv4 where the system maps it). */
    address?: string;
    /** Default 53. 0 picks a free port (the same one for UDP and TCP); read it back from `address()`. */
    port?: number;
    /** Serve UDP / TCP. Both default true. */
    udp?: boolean;
    tcp?: boolean;
  };
  /**
   * Resolver that names outside the zone are forwarded to (`192.0.2.1`, `192.0.2.1:5353`, `[2001:db8::1]:53`).
   * Without one they are answered REFUSED. Names inside the zone never wait on it.
   */
  forwarder?: string;
  /** How long a forwarded query may take before the client gets SERVFAIL. Default 1500 ms. */
  forwardTimeoutMs?: number;
  /** Forwarded queries waiting at once; past this, SERVFAIL at once. Default 1024. */
  maxForwardPending?: number;
  /**
   * Per-source rate limit (off by default): each client address may send `perSecond` queries a second, with
   * bursts up to `burst` (default twice `perSecond`); the rest are dropped unanswered and counted.
   */
  rateLimit?: { perSecond: number; burst?: number };
  /**
   * Receive buffer of the UDP socket: how many queries wait while the process is busy or descheduled before
   * the kernel drops them. Default 4 MiB, capped by the kernel at `net.core.rmem_max`.
   */
  udpReceiveBufferBytes?: number;
  /** TCP connections open at once; more are closed at once. Default 256. */
  maxTcpConnections?: number;
  /** An idle TCP connection is closed after this long. Default 10 000 ms (RFC 7766 §6.2.3). */
  tcpIdleTimeoutMs?: number;
  /** Silent by default. */
  logger?: Logger;
  /** Seconds since the epoch, for the SOA serial; injectable for tests. Default the system clock. */
  now?: () => number;
}

/** The options after defaults and checks, with every name absolute and lower-case. */
export interface ResolvedZoneConfig {
  zone: string;
  record: string;
  recordTtl: number;
  ttl: number;
  targets: Record<DnsState, string[]>;
  soa: { primary: string; admin: string; refresh: number; retry: number; expire: number; minimum: number };
  nameServers: Array<{ name: string; addresses: string[] }>;
  hosts: Array<{ name: string; addresses: string[] }>;
  srv: {
    owner: string;
    main: string;
    local: string;
    transports: SipTransport[];
    ports: Record<SipTransport, number>;
    naptr: boolean;
  };
  /** Whether the responder offers recursion (has a forwarder): the RA bit of its answers. */
  recursion: boolean;
}

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Checks and lower-cases an absolute name (no trailing dot). */
function checkName(name: string, what: string): string {
  const lower = name.toLowerCase();
  const labels = lower.split('.');
  if (!lower || labels.some((label) => !LABEL.test(label)) || lower.length > 253) {
    throw new DnsConfigError(`${what} ${JSON.stringify(name)} is not a valid DNS name`);
  }
  return lower;
}

/** The absolute name `name` means inside `zone`. */
export function resolveName(name: string, zone: string, what: string): string {
  const trimmed = name.trim();
  if (trimmed === '@') return zone;
  if (trimmed.endsWith('.')) return checkName(trimmed.slice(0, -1), what);
  const lower = trimmed.toLowerCase();
  if (lower === zone || lower.endsWith(`.${zone}`)) return checkName(lower, what);
  return checkName(`${lower}.${zone}`, what);
}

/** A list of IP addresses, checked. */
export function addressList(value: string | readonly string[], what: string, allowEmpty = false): string[] {
  const list = (typeof value === 'string' ? value.split(',') : [...value])
    .map((a) => a.trim())
    .filter(Boolean);
  for (const address of list) {
    if (isIP(address) === 0)
      throw new DnsConfigError(`${what}: ${JSON.stringify(address)} is not an IP address`);
  }
  if (!allowEmpty && list.length === 0) throw new DnsConfigError(`${what}: at least one address is needed`);
  return list;
}

/** A TTL or SOA timer: whole seconds that fit the wire's 31 usable bits (RFC 2181 §8). */
function seconds(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
    throw new DnsConfigError(`${what} must be a whole number of seconds between 0 and 2147483647, got ${v}`);
  }
  return v;
}

export function checkPort(value: number, what: string, allowZero: boolean): number {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > 65535) {
    throw new DnsConfigError(`${what} must be a port number, got ${value}`);
  }
  return value;
}

/** The zone part of the options, checked, with defaults applied. */
export function resolveZoneConfig(options: DnsResponderOptions): ResolvedZoneConfig {
  if (!options || typeof options.zone !== 'string') throw new DnsConfigError('zone is required');
  const zone = checkName(options.zone.trim().replace(/\.$/, ''), 'zone');
  const name = (value: string, what: string) => resolveName(value, zone, what);
  if (!options.targets) throw new DnsConfigError('targets.normal and targets.failover are required');
  const nameServers = (options.nameServers ?? ['ns']).map((ns, i) => {
    const entry = typeof ns === 'string' ? { name: ns } : ns;
    return {
      name: name(entry.name, `nameServers[${i}]`),
      addresses: addressList(entry.addresses ?? [], `nameServers[${i}].addresses`, true),
    };
  });
  if (nameServers.length === 0) throw new DnsConfigError('nameServers: at least one is needed');
  const srv = options.srv ?? {};
  const transports = [...(srv.transports ?? ['udp', 'tcp', 'tls'])];
  for (const t of transports) {
    if (t !== 'udp' && t !== 'tcp' && t !== 'tls') throw new DnsConfigError(`srv.transports: unknown ${t}`);
  }
  const soa = options.soa ?? {};
  return {
    zone,
    record: name(options.record ?? 'sip', 'record'),
    recordTtl: seconds(options.recordTtl, 30, 'recordTtl'),
    ttl: seconds(options.ttl, 300, 'ttl'),
    targets: {
      normal: addressList(options.targets.normal, 'targets.normal'),
      failover: addressList(options.targets.failover, 'targets.failover'),
    },
    soa: {
      primary: soa.primary ? name(soa.primary, 'soa.primary') : (nameServers[0] as { name: string }).name,
      admin: name(soa.admin ?? 'hostmaster', 'soa.admin'),
      refresh: seconds(soa.refresh, 3600, 'soa.refresh'),
      retry: seconds(soa.retry, 600, 'soa.retry'),
      expire: seconds(soa.expire, 86400, 'soa.expire'),
      minimum: seconds(soa.minimum, 30, 'soa.minimum'),
    },
    nameServers,
    hosts: Object.entries(options.hosts ?? {}).map(([host, addresses]) => ({
      name: name(host, `hosts.${host}`),
      addresses: addressList(addresses, `hosts.${host}`),
    })),
    srv: {
      owner: name(srv.owner ?? options.record ?? 'sip', 'srv.owner'),
      main: name(srv.main ?? 'main', 'srv.main'),
      local: name(srv.local ?? 'local', 'srv.local'),
      transports: [...new Set(transports)],
      ports: {
        udp: checkPort(srv.ports?.udp ?? 5060, 'srv.ports.udp', false),
        tcp: checkPort(srv.ports?.tcp ?? 5060, 'srv.ports.tcp', false),
        tls: checkPort(srv.ports?.tls ?? 5061, 'srv.ports.tls', false),
      },
      naptr: srv.naptr ?? true,
    },
    recursion: options.forwarder !== undefined,
  };
}

/** Parses `host`, `host:port`, `[v6]:port` or a bare IPv6 address into an address and port (default 53). */
export function parseHostPort(value: string, what: string): { address: string; port: number } {
  const text = value.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  let address: string;
  let port = 53;
  if (bracketed) {
    address = bracketed[1] as string;
    if (bracketed[2]) port = Number(bracketed[2]);
  } else if (isIP(text) === 6) {
    address = text;
  } else {
    const [host, portText] = text.split(':');
    address = host ?? '';
    if (portText !== undefined) port = Number(portText);
  }
  if (isIP(address) === 0) throw new DnsConfigError(`${what}: ${JSON.stringify(value)} is not an IP address`);
  return { address, port: checkPort(port, `${what} port`, false) };
}

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { TypedEmitter } from '../events.js';
import { type Logger, resolveLogger } from '../logger.js';
import { answerMessage } from './answer.js';
import { DnsMetrics, type DnsTransport, typeLabel } from './dns-metrics.js';
import { DnsConfigError, DnsListenError } from './errors.js';
import { Forwarder } from './forwarder.js';
import {
  addressList,
  checkPort,
  type DnsResponderOptions,
  type DnsState,
  parseHostPort,
  type ResolvedZoneConfig,
  resolveZoneConfig,
} from './options.js';
import { SourceRateLimiter } from './rate-limit.js';
import { DnsTcpServer } from './tcp-server.js';
import { buildResponse, type ParsedQuery, RCODE } from './wire.js';
import { ZoneSnapshot } from './zone.js';

/** What the SIP record answers: a configured state's targets, or addresses set by {@link DnsResponder.setTarget}. */
export type DnsTargetState = DnsState | 'manual';

/** Emitted whenever the answers change. */
export interface DnsChange {
  state: DnsTargetState;
  /** The addresses the SIP record answers now. */
  target: readonly string[];
  /** The zone's new SOA serial. */
  serial: number;
}

export interface DnsResponderEvents {
  change: (change: DnsChange) => void;
  /** A socket failed (also logged and counted); per-query problems are only counted. */
  error: (err: Error) => void;
}

type Reply = (response: Buffer) => void;

/** Attempts at finding a port free for both UDP and TCP when `listen.port` is 0. */
const FREE_PORT_ATTEMPTS = 10;
/** Repeated warnings (malformed floods, an unreachable forwarder) are logged at most this often, with a count. */
const WARN_INTERVAL_MS = 60_000;
const MAX_SERIAL = 0xffffffff;

/**
 * The branch's DNS server: authoritative for its zone, with the SIP record's A/AAAA answers following the
 * failover state, SRV and NAPTR records for handsets that fail over on their own, SOA and NS; names outside
 * the zone go to a forwarder (or are REFUSED). UDP and TCP.
 *
 * Answers are encoded once per zone change and copied per query, so the zone is served at a rate close to a
 * C resolver's and never waits on the forwarder. Drive it with {@link setState} (from a health monitor) or
 * {@link setTarget} (any other source of truth).
 *
 * @example
 * ```ts
 * const dns = new DnsResponder({
 *   zone: 'branch.example.com',
 *   targets: { normal: '192.0.2.10', failover: '192.168.1.10' },
 *   forwarder: '192.168.1.1',
 * });
 * await dns.start();
 * monitor.on('state', (up) => dns.setState(up ? 'normal' : 'failover'));
 * ```
 */
export class DnsResponder extends TypedEmitter<DnsResponderEvents> {
  private readonly config: ResolvedZoneConfig;
  private readonly log: Logger;
  private readonly metrics: DnsMetrics;
  private readonly listenAddress: string;
  private readonly listenPort: number;
  private readonly serveUdp: boolean;
  private readonly serveTcp: boolean;
  private readonly maxTcpConnections: number;
  private readonly tcpIdleTimeoutMs: number;
  private readonly udpReceiveBufferBytes: number;
  private readonly forwarder: Forwarder | undefined;
  private readonly limiter: SourceRateLimiter | undefined;
  private readonly now: () => number;
  private zone: ZoneSnapshot;
  private current: DnsTargetState;
  private udp: Socket | undefined;
  private tcp: DnsTcpServer | undefined;
  private boundPort: number | undefined;
  private readonly warned = new Map<string, { lastMs: number; suppressed: number }>();

  constructor(options: DnsResponderOptions) {
    super();
    this.config = resolveZoneConfig(options);
    this.log = resolveLogger(options.logger, { component: 'dns-responder', zone: this.config.zone });
    this.metrics = new DnsMetrics(options.registry);
    const listen = options.listen ?? {};
    this.listenAddress = listen.address ?? '0.0.0.0';
    addressList([this.listenAddress], 'listen.address');
    this.listenPort = checkPort(listen.port ?? 53, 'listen.port', true);
    this.serveUdp = listen.udp ?? true;
    this.serveTcp = listen.tcp ?? true;
    if (!this.serveUdp && !this.serveTcp) throw new DnsConfigError('listen: serve UDP, TCP or both');
    this.maxTcpConnections = positive(options.maxTcpConnections ?? 256, 'maxTcpConnections');
    this.tcpIdleTimeoutMs = positive(options.tcpIdleTimeoutMs ?? 10_000, 'tcpIdleTimeoutMs');
    this.udpReceiveBufferBytes = positive(options.udpReceiveBufferBytes ?? 4 << 20, 'udpReceiveBufferBytes');
    if (options.forwarder !== undefined) {
      this.forwarder = new Forwarder({
        ...parseHostPort(options.forwarder, 'forwarder'),
        timeoutMs: positive(options.forwardTimeoutMs ?? 1500, 'forwardTimeoutMs'),
        maxPending: positive(options.maxForwardPending ?? 1024, 'maxForwardPending'),
        onError: (err) => this.fail('forwarder', err),
      });
    }
    if (options.rateLimit) {
      const { perSecond, burst = perSecond * 2 } = options.rateLimit;
      this.limiter = new SourceRateLimiter(
        positive(perSecond, 'rateLimit.perSecond'),
        positive(burst, 'burst'),
      );
    }
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    const serial = options.soa?.serial ?? this.now();
    if (!Number.isInteger(serial) || serial < 0 || serial > MAX_SERIAL) {
      throw new DnsConfigError(`soa.serial must fit 32 bits, got ${serial}`);
    }
    const state = options.state ?? 'normal';
    checkState(state);
    this.current = state;
    this.zone = new ZoneSnapshot(this.config, this.config.targets[state], serial);
    this.metrics.state.set({ state }, 1);
  }

  /** The state whose targets the SIP record answers, or `manual` after {@link setTarget}. */
  get state(): DnsTargetState {
    return this.current;
  }

  /** The addresses the SIP record answers now. */
  get target(): readonly string[] {
    return this.zone.target;
  }

  /** The zone's SOA serial: Unix time of the last change, one more when two changes share a second. */
  get serial(): number {
    return this.zone.serial;
  }

  /** Where the responder listens, once started. */
  address(): { address: string; port: number } | undefined {
    return this.boundPort === undefined ? undefined : { address: this.listenAddress, port: this.boundPort };
  }

  /**
   * Points the SIP record at the configured targets of `state` (`normal`: the main PBX; `failover`: the local
   * one). Takes effect for the next query; the serial increases. Setting the current state again changes
   * nothing.
   */
  setState(state: DnsState): void {
    checkState(state);
    this.apply(state, this.config.targets[state]);
  }

  /**
   * Points the SIP record at `target` (IPv4 and/or IPv6 addresses) whatever the configured states say, until
   * the next {@link setState}. For a failover daemon that chooses among more than two PBXs.
   */
  setTarget(target: string | readonly string[]): void {
    this.apply('manual', addressList(target, 'target'));
  }

  /** Listens on UDP and TCP. Rejects with {@link DnsListenError} when the port cannot be had. */
  async start(): Promise<void> {
    if (this.boundPort !== undefined) return;
    for (let attempt = 1; ; attempt++) {
      try {
        this.boundPort = await this.bind();
        break;
      } catch (err) {
        await this.closeSockets();
        const retry = this.listenPort === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (!retry || attempt >= FREE_PORT_ATTEMPTS) {
          throw new DnsListenError(
            `cannot listen on ${this.listenAddress}:${this.listenPort}: ${(err as Error).message}`,
            { cause: err },
          );
        }
      }
    }
    this.log.info(
      { address: this.listenAddress, port: this.boundPort, state: this.current, target: this.zone.target },
      'DNS responder listening',
    );
  }

  /** Stops listening, closes TCP connections and answers waiting forwarded queries no more. */
  async stop(): Promise<void> {
    if (this.boundPort === undefined) return;
    this.boundPort = undefined;
    this.forwarder?.close();
    await this.closeSockets();
    this.log.info('DNS responder stopped');
  }

  private async bind(): Promise<number> {
    let port = this.listenPort;
    if (this.serveUdp) {
      const udp = createSocket(isIPv6(this.listenAddress) ? 'udp6' : 'udp4');
      this.udp = udp;
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, this.listenAddress, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      port = udp.address().port;
      try {
        udp.setRecvBufferSize(this.udpReceiveBufferBytes);
      } catch (err) {
        this.log.warn({ err }, 'cannot enlarge the UDP receive buffer: bursts may be dropped sooner');
      }
      udp.on('error', (err) => this.fail('udp', err));
      udp.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
        if (this.limiter && !this.limiter.allow(rinfo.address)) {
          this.metrics.rateLimited.inc();
          return;
        }
        this.handle(msg, 'udp', (response) => {
          // A forwarded answer can come back after stop(): the socket is closed then, and send would throw.
          if (this.udp === udp) udp.send(response, rinfo.port, rinfo.address);
        });
      });
    }
    if (this.serveTcp) {
      this.tcp = new DnsTcpServer({
        maxConnections: this.maxTcpConnections,
        idleTimeoutMs: this.tcpIdleTimeoutMs,
        onMessage: (msg, reply, remoteAddress) => {
          if (this.limiter && !this.limiter.allow(remoteAddress)) {
            this.metrics.rateLimited.inc();
            return;
          }
          this.handle(msg, 'tcp', reply);
        },
        onError: (err) => this.fail('tcp', err),
      });
      port = await this.tcp.listen(port, this.listenAddress);
    }
    return port;
  }

  private async closeSockets(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve())).catch(() => {});
    if (tcp) await tcp.close();
  }

  /** One received message: answered from the zone at once, or handed to the forwarder. Never throws. */
  private handle(msg: Buffer, transport: DnsTransport, reply: Reply): void {
    const started = performance.now();
    try {
      const outcome = answerMessage(msg, this.zone, transport === 'tcp', this.forwarder !== undefined);
      if (outcome.action === 'forward') {
        void this.forward(msg, outcome.query, transport, reply, started);
        return;
      }
      if (outcome.action === 'drop') {
        this.metrics.malformedMessage(outcome.malformed, transport);
        this.warnThrottled('malformed', { reason: outcome.malformed }, 'malformed DNS messages dropped');
        return;
      }
      reply(outcome.response);
      this.metrics.queries.inc({ type: typeLabel(outcome.qtype), result: outcome.result, transport });
      if (outcome.truncated) this.metrics.truncated.inc({ transport });
      this.metrics.duration.observe({ source: 'zone' }, (performance.now() - started) / 1000);
    } catch (err) {
      // A bug, not a bad packet (those are answered above): count and log it, keep serving.
      this.fail('handler', err as Error);
    }
  }

  /** Relays a query for a name outside the zone; the answer (or SERVFAIL) is sent whenever it comes. */
  private async forward(
    msg: Buffer,
    query: ParsedQuery,
    transport: DnsTransport,
    reply: Reply,
    started: number,
  ): Promise<void> {
    try {
      await this.relay(msg, query, transport, reply, started);
    } catch (err) {
      this.fail('handler', err as Error);
    }
  }

  private async relay(
    msg: Buffer,
    query: ParsedQuery,
    transport: DnsTransport,
    reply: Reply,
    started: number,
  ): Promise<void> {
    const forwarder = this.forwarder as Forwarder;
    const result = await forwarder.forward(msg, query.questionEnd, transport === 'tcp');
    const type = typeLabel(query.qtype);
    this.metrics.duration.observe({ source: 'forwarder' }, (performance.now() - started) / 1000);
    if (result.ok) {
      const response = Buffer.from(result.response);
      response.writeUInt16BE(query.id, 0);
      // Relayed, not ours: not authoritative (AA off), and recursion is what we offered (RA on).
      response[2] = (response[2] as number) & ~0x04;
      response[3] = (response[3] as number) | 0x80;
      reply(response);
      this.metrics.forwarded.inc({ result: 'ok' });
      this.metrics.queries.inc({ type, result: 'forwarded', transport });
      return;
    }
    this.metrics.forwarded.inc({ result: result.reason });
    this.metrics.queries.inc({ type, result: 'servfail', transport });
    this.warnThrottled(
      `forward-${result.reason}`,
      { reason: result.reason, err: result.error },
      'forwarding failed',
    );
    reply(buildResponse(msg, query, { aa: false, ra: true, rcode: RCODE.SERVFAIL }));
  }

  private apply(state: DnsTargetState, target: readonly string[]): void {
    if (state === this.current && sameList(target, this.zone.target)) return;
    const previous = this.current;
    const serial = nextSerial(this.zone.serial, this.now());
    this.zone = new ZoneSnapshot(this.config, target, serial);
    this.current = state;
    this.metrics.state.set({ state: previous }, 0);
    this.metrics.state.set({ state }, 1);
    this.log.info({ from: previous, state, target, serial }, 'DNS answers changed');
    this.emit('change', { state, target: this.zone.target, serial });
  }

  private fail(kind: string, err: Error): void {
    this.metrics.errors.inc({ kind });
    this.log.error({ err, kind }, 'DNS responder error');
    this.emit('error', err);
  }

  /** Logs a warning at most once a minute per key, with how many were left unlogged in between. */
  private warnThrottled(key: string, fields: Record<string, unknown>, message: string): void {
    const nowMs = performance.now();
    const entry = this.warned.get(key);
    if (entry && nowMs - entry.lastMs < WARN_INTERVAL_MS) {
      entry.suppressed++;
      return;
    }
    this.log.warn({ ...fields, sinceLastLog: entry?.suppressed ?? 0 }, message);
    this.warned.set(key, { lastMs: nowMs, suppressed: 0 });
  }
}

function checkState(state: string): asserts state is DnsState {
  if (state !== 'normal' && state !== 'failover') {
    throw new DnsConfigError(`state must be 'normal' or 'failover', got ${JSON.stringify(state)}`);
  }
}

function positive(value: number, what: string): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new DnsConfigError(`${what} must be > 0, got ${value}`);
  return value;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * The serial after a change: the current Unix time, or one more than the last serial when that is larger (two
 * changes in a second, a clock stepped back). Stays within 32 bits, where `yyyyMMddHHmmss` does not.
 */
export function nextSerial(previous: number, nowSeconds: number): number {
  const next = Math.max(previous + 1, nowSeconds);
  // RFC 1982 serial arithmetic wraps; 0 is skipped as some secondaries treat it specially.
  return next > MAX_SERIAL ? 1 : next;
}

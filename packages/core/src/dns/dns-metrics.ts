import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { MetricsFactory } from '../metrics.js';
import type { Malformed } from './wire.js';
import { RRTYPE } from './wire.js';

/** How a query ended, the `result` label of `pbxkit_core_dns_queries_total`. */
export type DnsResult =
  | 'answer'
  | 'nodata'
  | 'nxdomain'
  | 'refused'
  | 'forwarded'
  | 'servfail'
  | 'notimp'
  | 'badvers'
  | 'dropped';

export type DnsTransport = 'udp' | 'tcp';

const TYPE_LABELS = new Map<number, string>(Object.entries(RRTYPE).map(([name, code]) => [code, name]));

/** The `type` label of a query type: its name for the types the zone serves, else `other` (bounded series). */
export function typeLabel(qtype: number | undefined): string {
  if (qtype === undefined) return 'none';
  return TYPE_LABELS.get(qtype) ?? 'other';
}

/** The responder's Prometheus metrics, `pbxkit_core_dns_*`. */
export class DnsMetrics {
  readonly queries: Counter<'type' | 'result' | 'transport'>;
  readonly malformed: Counter<'reason'>;
  readonly forwarded: Counter<'result'>;
  readonly duration: Histogram<'source'>;
  readonly rateLimited: Counter;
  readonly truncated: Counter<'transport'>;
  readonly errors: Counter<'kind'>;
  readonly state: Gauge<'state'>;

  constructor(registry: Registry | undefined) {
    const m = new MetricsFactory('core', registry);
    this.queries = m.counter({
      what: 'dns_queries',
      unit: 'total',
      help: 'DNS queries answered, by query type, result and transport',
      labelNames: ['type', 'result', 'transport'],
    });
    this.malformed = m.counter({
      what: 'dns_malformed',
      unit: 'total',
      help: 'DNS messages dropped unanswered because they are not a well-formed query, by what was wrong',
      labelNames: ['reason'],
    });
    this.forwarded = m.counter({
      what: 'dns_forwarded',
      unit: 'total',
      help: 'Queries for names outside the zone sent to the forwarder, by outcome',
      labelNames: ['result'],
    });
    this.duration = m.histogram({
      what: 'dns_response_duration',
      unit: 'seconds',
      help: 'Time from a query to its answer: zone (computed here) or forwarder (round trip to the resolver)',
      labelNames: ['source'],
    });
    this.rateLimited = m.counter({
      what: 'dns_rate_limited',
      unit: 'total',
      help: 'Queries dropped by the per-source rate limit',
    });
    this.truncated = m.counter({
      what: 'dns_truncated',
      unit: 'total',
      help: 'Answers sent with TC set because they exceed the UDP size the client takes',
      labelNames: ['transport'],
    });
    this.errors = m.counter({
      what: 'dns_errors',
      unit: 'total',
      help: 'Errors of the DNS responder (socket, handler), each also logged',
      labelNames: ['kind'],
    });
    this.state = m.gauge({
      what: 'dns_state',
      unit: 'info',
      help: 'What the SIP record answers: 1 for the current state (normal, failover or manual)',
      labelNames: ['state'],
    });
  }

  /** Counts a malformed message, dropped. */
  malformedMessage(reason: Malformed, transport: DnsTransport): void {
    this.malformed.inc({ reason });
    this.queries.inc({ type: 'none', result: 'dropped', transport });
  }
}

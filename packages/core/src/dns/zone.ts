import { isIPv4 } from 'node:net';
import dns2 from 'dns2';
import { encodeResponse, type Resource } from './encode.js';
import type { ResolvedZoneConfig, SipTransport } from './options.js';
import { CLASS_IN, isInZone, nameToKey, RRTYPE } from './wire.js';

const { Packet } = dns2;

/** A positive answer encoded once: the whole response, and the same without its additional records. */
export interface EncodedAnswer {
  /** Header (QR, AA, RA as configured; ID 0), lower-case question, answer and additional records; no OPT. */
  full: Buffer;
  /** The response without additional records, for clients whose size limit `full` exceeds; undefined if same. */
  minimal: Buffer | undefined;
}

/** What the zone holds for a question: an encoded answer, or why there is none. */
export type ZoneLookup = EncodedAnswer | 'nodata' | 'nxdomain' | 'outside';

const SRV_LABELS: Record<SipTransport, string> = { udp: '_sip._udp', tcp: '_sip._tcp', tls: '_sips._tcp' };
const NAPTR_SERVICES: Record<SipTransport, string> = { udp: 'SIP+D2U', tcp: 'SIP+D2T', tls: 'SIPS+D2T' };

function resource(name: string, type: number, ttl: number, fields: Partial<Resource>): Resource {
  return new Packet.Resource({ name, type, class: CLASS_IN, ttl, ...fields });
}

function addressRecords(name: string, addresses: readonly string[], ttl: number): Resource[] {
  return addresses.map((address) =>
    resource(name, isIPv4(address) ? RRTYPE.A : RRTYPE.AAAA, ttl, { address }),
  );
}

/**
 * NAPTR RDATA (RFC 3403 §4.1), which dns2 has no encoder for: it writes a record of a type it does not know
 * from the raw `data` bytes. The replacement name is never compressed (RFC 3403 §4.1).
 */
function naptrRdata(order: number, preference: number, service: string, replacement: string): Buffer {
  const strings = ['s', service, ''].map((text) => {
    const bytes = Buffer.from(text, 'ascii');
    return Buffer.concat([Buffer.from([bytes.length]), bytes]);
  });
  const fixed = Buffer.alloc(4);
  fixed.writeUInt16BE(order, 0);
  fixed.writeUInt16BE(preference, 2);
  return Buffer.concat([fixed, ...strings, Packet.Name.encode(replacement)]);
}

/**
 * Every record of the zone in one state, and the encoded responses to every question with a positive answer.
 * Built anew (with dns2, a few milliseconds) whenever the answers change; between changes each query costs a
 * map lookup and a copy.
 */
export class ZoneSnapshot {
  /** The SOA record as it goes into the authority section of NXDOMAIN/NODATA answers (uncompressed). */
  readonly negativeAuthority: Buffer;
  private readonly zoneKey: string;
  private readonly answers = new Map<string, Map<number, EncodedAnswer>>();
  /** Names that exist without records of their own (`_udp.sip.…` above `_sip._udp.sip.…`): NODATA. */
  private readonly emptyNames = new Set<string>();

  constructor(
    readonly config: ResolvedZoneConfig,
    /** What the SIP record answers now. */
    readonly target: readonly string[],
    readonly serial: number,
  ) {
    this.zoneKey = nameToKey(config.zone);
    const rrsets = this.records();
    const soa = rrsets.get(config.zone)?.find((r) => r.type === RRTYPE.SOA) as Resource;
    // RFC 2308 §3: the negative answer's SOA lives min(SOA TTL, SOA MINIMUM).
    this.negativeAuthority = Packet.Resource.encode({ ...soa, ttl: Math.min(soa.ttl, config.soa.minimum) });
    for (const [name, records] of rrsets) {
      const byType = new Map<number, EncodedAnswer>();
      for (const type of new Set(records.map((r) => r.type))) {
        const answer = records.filter((r) => r.type === type);
        byType.set(type, this.encode(name, type, answer, this.additionals(answer, rrsets)));
      }
      byType.set(RRTYPE.ANY, this.encode(name, RRTYPE.ANY, records, []));
      this.answers.set(nameToKey(name), byType);
    }
    for (const name of rrsets.keys()) {
      const labels = name.split('.');
      for (let i = 1; i < labels.length; i++) {
        const parent = labels.slice(i).join('.');
        if (parent === config.zone || !parent.endsWith(`.${config.zone}`)) break;
        if (!rrsets.has(parent)) this.emptyNames.add(nameToKey(parent));
      }
    }
  }

  /** The answer to `qtype` at the name whose wire key is `nameKey`. */
  lookup(nameKey: string, qtype: number): ZoneLookup {
    const byType = this.answers.get(nameKey);
    if (byType) return byType.get(qtype) ?? 'nodata';
    if (this.emptyNames.has(nameKey)) return 'nodata';
    return isInZone(nameKey, this.zoneKey) ? 'nxdomain' : 'outside';
  }

  /** Every name of the zone with its records (names in zone order, records in answer order). */
  records(): Map<string, Resource[]> {
    const c = this.config;
    const out = new Map<string, Resource[]>();
    const add = (name: string, records: Resource[]) => {
      if (records.length === 0 || !(name === c.zone || name.endsWith(`.${c.zone}`))) return;
      out.set(name, [...(out.get(name) ?? []), ...records]);
    };
    add(c.zone, [
      resource(c.zone, RRTYPE.SOA, c.ttl, {
        primary: c.soa.primary,
        admin: c.soa.admin,
        serial: this.serial,
        refresh: c.soa.refresh,
        retry: c.soa.retry,
        expiration: c.soa.expire,
        minimum: c.soa.minimum,
      }),
      ...c.nameServers.map((ns) => resource(c.zone, RRTYPE.NS, c.ttl, { ns: ns.name })),
    ]);
    for (const ns of c.nameServers) add(ns.name, addressRecords(ns.name, ns.addresses, c.ttl));
    for (const host of c.hosts) add(host.name, addressRecords(host.name, host.addresses, c.ttl));
    add(c.srv.main, addressRecords(c.srv.main, c.targets.normal, c.ttl));
    add(c.srv.local, addressRecords(c.srv.local, c.targets.failover, c.ttl));
    add(c.record, addressRecords(c.record, this.target, c.recordTtl));
    c.srv.transports.forEach((transport, i) => {
      const owner = `${SRV_LABELS[transport]}.${c.srv.owner}`;
      const port = c.srv.ports[transport];
      add(owner, [
        resource(owner, RRTYPE.SRV, c.ttl, { priority: 10, weight: 10, port, target: c.srv.main }),
        resource(owner, RRTYPE.SRV, c.ttl, { priority: 20, weight: 10, port, target: c.srv.local }),
      ]);
      if (c.srv.naptr) {
        const data = naptrRdata(10 * (i + 1), 10, NAPTR_SERVICES[transport], owner);
        add(c.srv.owner, [resource(c.srv.owner, RRTYPE.NAPTR, c.ttl, { data })]);
      }
    });
    return out;
  }

  /** Additional-section records (RFC 1035 §3.3, RFC 3403 §4): SRV for NAPTR, addresses for SRV and NS targets. */
  private additionals(answer: Resource[], rrsets: Map<string, Resource[]>): Resource[] {
    const extra: Resource[] = [];
    const addressesOf = (name: string) =>
      (rrsets.get(name) ?? []).filter((r) => r.type === RRTYPE.A || r.type === RRTYPE.AAAA);
    for (const record of answer) {
      if (record.type === RRTYPE.SRV && record.target) extra.push(...addressesOf(record.target));
      if (record.type === RRTYPE.NS && record.ns) extra.push(...addressesOf(record.ns));
    }
    if (answer[0]?.type === RRTYPE.NAPTR) {
      for (const transport of this.config.srv.transports) {
        const owner = `${SRV_LABELS[transport]}.${this.config.srv.owner}`;
        extra.push(...(rrsets.get(owner) ?? []));
      }
    }
    return [...new Set(extra)];
  }

  private encode(name: string, qtype: number, answers: Resource[], additionals: Resource[]): EncodedAnswer {
    const recursion = this.config.recursion;
    return {
      full: encodeResponse(name, qtype, { answers, additionals }, recursion),
      minimal: additionals.length
        ? encodeResponse(name, qtype, { answers, additionals: [] }, recursion)
        : undefined,
    };
  }
}

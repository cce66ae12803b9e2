import type { DnsResult } from './dns-metrics.js';
import {
  buildResponse,
  CLASS_ANY,
  CLASS_IN,
  fromTemplate,
  headerOnlyResponse,
  type Malformed,
  OPT_RECORD_BYTES,
  type ParsedQuery,
  parseQuery,
  RCODE,
  udpLimit,
} from './wire.js';
import type { EncodedAnswer, ZoneSnapshot } from './zone.js';

/** Largest DNS message over TCP (its 16-bit length prefix). */
const TCP_LIMIT = 0xffff;
/** Zone transfers (IXFR, AXFR) are not offered: the responder is the zone's only server. */
const TRANSFER_TYPES = new Set([251, 252]);
const NEGATIVE_COUNTS = { answers: 0, authorities: 1, additionals: 0 };

/** What to do with one received message. */
export type Outcome =
  | {
      action: 'send';
      response: Buffer;
      result: DnsResult;
      qtype: number | undefined;
      truncated: boolean;
    }
  | { action: 'forward'; query: ParsedQuery }
  | { action: 'drop'; malformed: Malformed };

type SendOutcome = Extract<Outcome, { action: 'send' }>;

function send(
  response: Buffer,
  result: DnsResult,
  qtype: number | undefined,
  truncated = false,
): SendOutcome {
  return { action: 'send', response, result, qtype, truncated };
}

/**
 * Answers one message from the zone, without I/O: the header is checked first, a positive answer is a copy of
 * bytes encoded when the zone last changed, a negative one is assembled from the query's question and the
 * zone's SOA. Names outside the zone come back as `forward` (when `canForward`) or are REFUSED.
 */
export function answerMessage(msg: Buffer, zone: ZoneSnapshot, tcp: boolean, canForward: boolean): Outcome {
  const parsed = parseQuery(msg);
  if (!parsed.ok) {
    if (parsed.reason === 'opcode') return send(headerOnlyResponse(msg, RCODE.NOTIMP), 'notimp', undefined);
    return { action: 'drop', malformed: parsed.reason };
  }
  const query = parsed.query;
  const ra = zone.config.recursion;
  if (query.ednsPayload && query.ednsVersion > 0) {
    return send(buildResponse(msg, query, { aa: false, ra, rcode: RCODE.BADVERS }), 'badvers', query.qtype);
  }
  if ((query.qclass !== CLASS_IN && query.qclass !== CLASS_ANY) || TRANSFER_TYPES.has(query.qtype)) {
    return send(buildResponse(msg, query, { aa: false, ra, rcode: RCODE.REFUSED }), 'refused', query.qtype);
  }
  const limit = tcp ? TCP_LIMIT : udpLimit(query);
  const found = zone.lookup(query.nameKey, query.qtype);
  if (found === 'outside') {
    if (canForward) return { action: 'forward', query };
    return send(buildResponse(msg, query, { aa: false, ra, rcode: RCODE.REFUSED }), 'refused', query.qtype);
  }
  if (found === 'nodata' || found === 'nxdomain') {
    const rcode = found === 'nxdomain' ? RCODE.NXDOMAIN : RCODE.NOERROR;
    const response = buildResponse(
      msg,
      query,
      { aa: true, ra, rcode },
      zone.negativeAuthority,
      NEGATIVE_COUNTS,
    );
    if (response.length <= limit) return send(response, found, query.qtype);
    return send(buildResponse(msg, query, { aa: true, ra, tc: true, rcode }), found, query.qtype, true);
  }
  const template = fitting(found, query, limit);
  if (template) return send(fromTemplate(template, msg, query), 'answer', query.qtype);
  // RFC 2181 §9: too big even without additional data: TC and no records, the client asks again over TCP.
  return send(
    buildResponse(msg, query, { aa: true, ra, tc: true, rcode: RCODE.NOERROR }),
    'answer',
    query.qtype,
    true,
  );
}

/** The encoded answer that fits `limit` with the query's OPT record: whole, else without additional records. */
function fitting(answer: EncodedAnswer, query: ParsedQuery, limit: number): Buffer | undefined {
  const opt = query.ednsPayload ? OPT_RECORD_BYTES : 0;
  if (answer.full.length + opt <= limit) return answer.full;
  if (answer.minimal && answer.minimal.length + opt <= limit) return answer.minimal;
  return undefined;
}

/**
 * The DNS wire format as far as the responder's hot path needs it: checking a query's header and reading its
 * one question and OPT record with bounds checks and no allocation beyond the name key, and assembling
 * responses from precomputed bytes. Everything else (encoding the zone's records) is done by dns2, once per
 * zone change, in zone.ts.
 */

/** Record types the responder knows by name (RFC 1035, 3596, 2782, 3403, 6891). */
export const RRTYPE = {
  A: 1,
  NS: 2,
  SOA: 6,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  OPT: 41,
  ANY: 255,
} as const;

export const CLASS_IN = 1;
export const CLASS_ANY = 255;

export const RCODE = {
  NOERROR: 0,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** 16: carried as 1 in the OPT record's extended-rcode byte (RFC 6891 §6.1.3). */
  BADVERS: 16,
} as const;

export const HEADER_BYTES = 12;
/** Largest UDP response without EDNS (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_LIMIT = 512;
/**
 * The UDP payload size the responder advertises and never exceeds, whatever larger size a client offers: the
 * DNS flag day 2020 value, which avoids IP fragmentation on any path.
 */
export const OWN_UDP_PAYLOAD = 1232;
/** An OPT record with no options: root name, type, class, TTL, RDLENGTH. */
export const OPT_RECORD_BYTES = 11;

const MAX_NAME_BYTES = 255;

/** What is wrong with a message that is dropped unanswered; each is a `reason` of the malformed metric. */
export type Malformed = 'short' | 'response' | 'question_count' | 'records' | 'question' | 'opt';

/** The parts of a query the responder answers from. */
export interface ParsedQuery {
  id: number;
  /** Recursion desired (copied into the response). */
  rd: boolean;
  qtype: number;
  qclass: number;
  /** QNAME in wire form, lower-cased, as a latin1 string: the zone's lookup key. */
  nameKey: string;
  /** Offset just past QTYPE/QCLASS: bytes 12..questionEnd are the question, copied into every response. */
  questionEnd: number;
  /** The client's UDP payload size when the query carries an OPT record, else 0 (no EDNS). */
  ednsPayload: number;
  /** EDNS version the client speaks; only 0 exists (a higher one is answered BADVERS). */
  ednsVersion: number;
  /** The DO bit, echoed in the response's OPT record (RFC 3225). */
  dnssecOk: boolean;
}

/**
 * Outcome of {@link parseQuery}: a query; a well-formed message of another opcode (NOTIFY, UPDATE: answered
 * NOTIMP); or a malformed one, dropped unanswered.
 */
export type ParseResult = { ok: true; query: ParsedQuery } | { ok: false; reason: Malformed | 'opcode' };

function failure(reason: Malformed | 'opcode'): ParseResult {
  return { ok: false, reason };
}

/**
 * Checks a message's header before reading anything else, then reads its question and OPT record.
 *
 * Only a standard query (QR 0, opcode 0) with exactly one question and no answer or authority records is
 * read: every other header is rejected from its 12 bytes alone, so a packet claiming 65,535 questions costs no
 * more than any other. Names are read with bounds checks and without following compression pointers (a
 * query's single name has nothing to point back to).
 *
 * Malformed messages are dropped rather than answered FORMERR: an answer costs a send, the larger part of
 * the work per packet, and a flood of garbage must leave that time to valid queries.
 */
export function parseQuery(msg: Buffer): ParseResult {
  const length = msg.length;
  if (length < HEADER_BYTES) return failure('short');
  const flags = msg[2] as number;
  if (flags & 0x80) return failure('response'); // never answer a response (no loops between servers)
  if ((flags & 0x78) !== 0) return failure('opcode');
  if (msg.readUInt16BE(4) !== 1) return failure('question_count');
  if (msg.readUInt16BE(6) !== 0 || msg.readUInt16BE(8) !== 0) return failure('records');

  let p = HEADER_BYTES;
  for (;;) {
    if (p >= length) return failure('question');
    const labelLength = msg[p] as number;
    if (labelLength === 0) {
      p++;
      break;
    }
    if (labelLength > 63) return failure('question');
    p += labelLength + 1;
    if (p - HEADER_BYTES >= MAX_NAME_BYTES) return failure('question');
  }
  const nameEnd = p;
  if (nameEnd + 4 > length) return failure('question');
  const qtype = msg.readUInt16BE(nameEnd);
  const qclass = msg.readUInt16BE(nameEnd + 2);
  const questionEnd = nameEnd + 4;

  let ednsPayload = 0;
  let ednsVersion = 0;
  let dnssecOk = false;
  // The first additional record counts only when it is an OPT (a TSIG alone is ignored: answered unsigned).
  if (msg.readUInt16BE(10) > 0 && questionEnd < length && msg[questionEnd] === 0) {
    if (questionEnd + OPT_RECORD_BYTES > length) return failure('opt');
    if (msg.readUInt16BE(questionEnd + 1) === RRTYPE.OPT) {
      const rdLength = msg.readUInt16BE(questionEnd + 9);
      if (questionEnd + OPT_RECORD_BYTES + rdLength > length) return failure('opt');
      // Payload sizes below 512 mean 512 (RFC 6891 §6.2.5); 0 stays reserved for "no EDNS".
      ednsPayload = Math.max(msg.readUInt16BE(questionEnd + 3), CLASSIC_UDP_LIMIT);
      ednsVersion = msg[questionEnd + 6] as number;
      dnssecOk = ((msg[questionEnd + 7] as number) & 0x80) !== 0;
    }
  }

  return {
    ok: true,
    query: {
      id: msg.readUInt16BE(0),
      rd: (flags & 0x01) !== 0,
      qtype,
      qclass,
      nameKey: msg.toString('latin1', HEADER_BYTES, nameEnd).toLowerCase(),
      questionEnd,
      ednsPayload,
      ednsVersion,
      dnssecOk,
    },
  };
}

/** The largest response a client can take over UDP: 512 without EDNS, else its size capped at ours. */
export function udpLimit(query: ParsedQuery): number {
  return query.ednsPayload === 0 ? CLASSIC_UDP_LIMIT : Math.min(query.ednsPayload, OWN_UDP_PAYLOAD);
}

/** Flags of a response the responder builds (QR is always set, opcode always QUERY). */
export interface ResponseFlags {
  aa: boolean;
  ra: boolean;
  tc?: boolean;
  rcode: number;
}

function writeFlags(out: Buffer, query: ParsedQuery, flags: ResponseFlags): void {
  out[2] = 0x80 | (flags.aa ? 0x04 : 0) | (flags.tc ? 0x02 : 0) | (query.rd ? 0x01 : 0);
  out[3] = (flags.ra ? 0x80 : 0) | (flags.rcode & 0x0f);
}

/** Writes an empty OPT record at `offset`: our payload size, the extended rcode, version 0, the client's DO. */
function writeOpt(out: Buffer, offset: number, query: ParsedQuery, rcode: number): void {
  out[offset] = 0;
  out.writeUInt16BE(RRTYPE.OPT, offset + 1);
  out.writeUInt16BE(OWN_UDP_PAYLOAD, offset + 3);
  out[offset + 5] = (rcode >> 4) & 0xff;
  out[offset + 6] = 0;
  out[offset + 7] = query.dnssecOk ? 0x80 : 0;
  out[offset + 8] = 0;
  out.writeUInt16BE(0, offset + 9);
}

/** Record counts of the sections that follow the question in a built response. */
export interface SectionCounts {
  answers: number;
  authorities: number;
  additionals: number;
}

const NO_RECORDS: SectionCounts = { answers: 0, authorities: 0, additionals: 0 };

/**
 * A response to `query` made of its header, the query's own question (the client's letter case kept, as
 * 0x20-randomising resolvers check) and precomputed `sections` bytes, with an OPT record when the query had
 * one. Used for negative answers, errors and truncated replies, whose records never point into the question.
 */
export function buildResponse(
  msg: Buffer,
  query: ParsedQuery,
  flags: ResponseFlags,
  sections?: Buffer,
  counts: SectionCounts = NO_RECORDS,
): Buffer {
  const questionBytes = query.questionEnd - HEADER_BYTES;
  const sectionBytes = sections?.length ?? 0;
  const optBytes = query.ednsPayload ? OPT_RECORD_BYTES : 0;
  const out = Buffer.allocUnsafe(HEADER_BYTES + questionBytes + sectionBytes + optBytes);
  out.writeUInt16BE(query.id, 0);
  writeFlags(out, query, flags);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(counts.answers, 6);
  out.writeUInt16BE(counts.authorities, 8);
  out.writeUInt16BE(counts.additionals + (optBytes ? 1 : 0), 10);
  msg.copy(out, HEADER_BYTES, HEADER_BYTES, query.questionEnd);
  if (sections) sections.copy(out, query.questionEnd);
  if (optBytes) writeOpt(out, query.questionEnd + sectionBytes, query, flags.rcode);
  return out;
}

/**
 * A copy of a precomputed response (`template`: header, lower-case question, records, no OPT) turned into the
 * answer to this query: its ID, RD bit and question bytes patched in, an OPT record appended when the query
 * had one. The template's question has the query's length (same name, other case), so the records'
 * compression pointers into it stay valid.
 */
export function fromTemplate(template: Buffer, msg: Buffer, query: ParsedQuery): Buffer {
  const optBytes = query.ednsPayload ? OPT_RECORD_BYTES : 0;
  const out = Buffer.allocUnsafe(template.length + optBytes);
  template.copy(out, 0);
  out[0] = msg[0] as number;
  out[1] = msg[1] as number;
  out[2] = ((template[2] as number) & 0xfe) | (query.rd ? 0x01 : 0);
  msg.copy(out, HEADER_BYTES, HEADER_BYTES, query.questionEnd);
  if (optBytes) {
    out.writeUInt16BE(template.readUInt16BE(10) + 1, 10);
    writeOpt(out, template.length, query, RCODE.NOERROR);
  }
  return out;
}

/**
 * A header-only answer (NOTIMP to a NOTIFY or UPDATE): the ID, opcode and RD are echoed, every count is zero.
 * Twelve bytes: answering a flood of them amplifies nothing.
 */
export function headerOnlyResponse(msg: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(HEADER_BYTES);
  out[0] = msg[0] as number;
  out[1] = msg[1] as number;
  out[2] = 0x80 | ((msg[2] as number) & 0x79); // QR, the query's opcode and RD
  out[3] = rcode & 0x0f;
  return out;
}

/** The wire-form key of a presentation name (`sip.branch.example.com` → `\x03sip\x06branch…\x00`). */
export function nameToKey(name: string): string {
  let key = '';
  for (const label of name.split('.')) {
    if (label) key += String.fromCharCode(label.length) + label.toLowerCase();
  }
  return `${key}\x00`;
}

/**
 * True when `key` is `zoneKey` or a name below it: the zone's key must end the name on a label boundary (a
 * label holding the bytes `\x06branch` does not put a name inside `branch.`).
 */
export function isInZone(key: string, zoneKey: string): boolean {
  if (!key.endsWith(zoneKey)) return false;
  const boundary = key.length - zoneKey.length;
  let p = 0;
  while (p < boundary) p += key.charCodeAt(p) + 1;
  return p === boundary;
}

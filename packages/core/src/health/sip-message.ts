import { randomBytes } from 'node:crypto';

/** What goes into one SIP `OPTIONS` request. */
export interface SipOptionsRequest {
  /** The peer: its host (name or address) and port, used in the Request-URI and `To`. */
  host: string;
  port: number;
  /** Our socket's address and port, for `Via` and `Contact`. */
  localAddress: string;
  localPort: number;
  /** The user part of `From` and `Contact`. */
  fromUser: string;
  /** The `User-Agent` header. */
  userAgent: string;
  /** Transaction identifiers: Via branch (without the RFC 3261 magic cookie), From tag, Call-ID. */
  branch: string;
  tag: string;
  callId: string;
}

/** A parsed SIP response: status line and headers (names lower-cased, compact forms expanded). */
export interface SipResponse {
  status: number;
  reason: string;
  headers: Map<string, string[]>;
}

const COMPACT: Record<string, string> = {
  i: 'call-id',
  v: 'via',
  f: 'from',
  t: 'to',
  l: 'content-length',
  m: 'contact',
};

/** Fresh random transaction identifiers. */
export function sipTransactionIds(): { branch: string; tag: string; callId: string } {
  const hex = (n: number) => randomBytes(n).toString('hex');
  return { branch: hex(8), tag: hex(4), callId: hex(12) };
}

/** A host as it goes in a SIP URI: IPv6 addresses in brackets. */
function uriHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The bytes of an RFC 3261 `OPTIONS` request over UDP, with CRLF line ends, `rport` (RFC 3581, so a NATed
 * answer still finds us) and no body. Retransmissions reuse the same text.
 */
export function buildSipOptions(r: SipOptionsRequest): string {
  const peer = `${uriHost(r.host)}:${r.port}`;
  const local = `${uriHost(r.localAddress)}:${r.localPort}`;
  return [
    `OPTIONS sip:${peer} SIP/2.0`,
    `Via: SIP/2.0/UDP ${local};branch=z9hG4bK${r.branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:${r.fromUser}@${uriHost(r.localAddress)}>;tag=${r.tag}`,
    `To: <sip:${peer}>`,
    `Call-ID: ${r.callId}`,
    'CSeq: 1 OPTIONS',
    `Contact: <sip:${r.fromUser}@${local}>`,
    'Accept: application/sdp',
    `User-Agent: ${r.userAgent}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Parses a SIP response datagram; `undefined` for anything else (a request, garbage). */
export function parseSipResponse(datagram: Buffer): SipResponse | undefined {
  const text = datagram.toString('latin1');
  const headEnd = text.search(/\r?\n\r?\n/);
  const lines = (headEnd === -1 ? text : text.slice(0, headEnd)).split(/\r?\n/);
  const statusLine = /^SIP\/2\.0 ([1-6]\d\d) ?(.*)$/.exec(lines[0] ?? '');
  if (!statusLine) return undefined;
  const headers = new Map<string, string[]>();
  let last: string[] | undefined;
  for (const line of lines.slice(1)) {
    if (/^[ \t]/.test(line) && last) {
      // A folded continuation line belongs to the previous header's value.
      last[last.length - 1] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const raw = line.slice(0, colon).trim().toLowerCase();
    const name = COMPACT[raw] ?? raw;
    last = headers.get(name) ?? [];
    last.push(line.slice(colon + 1).trim());
    headers.set(name, last);
  }
  return { status: Number(statusLine[1]), reason: statusLine[2] ?? '', headers };
}

/** True when `response` answers the request with this Call-ID (and is for `OPTIONS`). */
export function answersOptions(response: SipResponse, callId: string): boolean {
  const id = response.headers.get('call-id')?.[0];
  const cseq = response.headers.get('cseq')?.[0] ?? '';
  return id === callId && /^\d+\s+OPTIONS$/i.test(cseq);
}

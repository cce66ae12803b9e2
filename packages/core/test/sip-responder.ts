import { createSocket, type Socket } from 'node:dgram';

/** How the responder behaves. */
export interface SipResponderOptions {
  /** Final status to answer. Default 200. */
  status?: number;
  reason?: string;
  /** Datagrams to ignore before answering (lost packets). Default 0. */
  dropFirst?: number;
  /** Send `100 Trying` before the final answer. */
  trying?: boolean;
  /** Never answer (a black hole). */
  silent?: boolean;
}

/** A tiny SIP UAS on UDP loopback that answers OPTIONS as RFC 3261 says, for probe tests. */
export interface SipResponder {
  port: number;
  /** Every datagram received, as text. */
  received: string[];
  /** Resolves once `count` datagrams have arrived. */
  receivedCount(count: number): Promise<void>;
  close(): Promise<void>;
}

const MANDATORY = ['via', 'to', 'from', 'call-id', 'cseq', 'max-forwards'];

/** Starts the responder on 127.0.0.1 and a free port. */
export async function startSipResponder(options: SipResponderOptions = {}): Promise<SipResponder> {
  const socket: Socket = createSocket('udp4');
  const received: string[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  socket.on('message', (datagram, peer) => {
    const text = datagram.toString('utf8');
    received.push(text);
    for (const w of waiters.filter((w) => received.length >= w.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    if (options.silent || received.length <= (options.dropFirst ?? 0)) return;
    const [head = '', body = ''] = text.split('\r\n\r\n');
    const [requestLine = '', ...lines] = head.split('\r\n');
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    // A malformed request gets a 400, as a real server would: the probe's packet must pass these checks.
    const wellFormed =
      /^OPTIONS sip:\S+ SIP\/2\.0$/.test(requestLine) &&
      MANDATORY.every((h) => headers.has(h)) &&
      /;branch=z9hG4bK/.test(headers.get('via') ?? '') &&
      Number(headers.get('content-length')) === Buffer.byteLength(body) &&
      text.endsWith('\r\n\r\n');
    const reply = (status: number, reason: string) =>
      [
        `SIP/2.0 ${status} ${reason}`,
        `Via: ${headers.get('via')};received=${peer.address}`,
        `From: ${headers.get('from')}`,
        `To: ${headers.get('to')};tag=responder`,
        `Call-ID: ${headers.get('call-id')}`,
        `CSeq: ${headers.get('cseq')}`,
        'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
    if (!wellFormed) {
      socket.send(reply(400, 'Bad Request'), peer.port, peer.address);
      return;
    }
    if (options.trying) socket.send(reply(100, 'Trying'), peer.port, peer.address);
    socket.send(reply(options.status ?? 200, options.reason ?? 'OK'), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    received,
    receivedCount: (count) =>
      received.length >= count
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

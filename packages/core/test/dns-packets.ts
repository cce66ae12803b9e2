/**
 * Hand-made DNS messages for the responder's tests and benchmark: valid queries byte by byte, and the
 * malformed packets a flood is made of.
 */
import { createSocket } from 'node:dgram';

/** A standard query for `name`/`type` (RD set), with an OPT record when `ednsPayload` is given. */
export function encodeQuery(
  id: number,
  name: string,
  type: number,
  options: { ednsPayload?: number } = {},
): Buffer {
  const labels = name
    .split('.')
    .filter(Boolean)
    .map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'latin1')]));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header[2] = 0x01;
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(options.ednsPayload ? 1 : 0, 10);
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(1, 3);
  const parts = [header, ...labels, tail];
  if (options.ednsPayload) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(41, 1);
    opt.writeUInt16BE(options.ednsPayload, 3);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

/** Malformed packets of every kind the responder must shrug off. */
export function floodPackets(): Buffer[] {
  const valid = encodeQuery(0x4242, 'sip.branch.example.com', 1);
  // 12 bytes claiming 65,535 questions: the packet that cost dns2 3.0.0 seconds of CPU.
  const manyQuestions = Buffer.from([0x12, 0x34, 0x01, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0]);
  // One question whose first label claims 63 bytes and has 3.
  const overrun = Buffer.concat([valid.subarray(0, 12), Buffer.from([63, 0x61, 0x62, 0x63])]);
  // A compression pointer to itself where the name starts.
  const loop = Buffer.concat([valid.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
  // A valid question followed by counts of 65,535 answer, authority and additional records, none present.
  const manyRecords = Buffer.from(valid);
  manyRecords.writeUInt16BE(0xffff, 6);
  manyRecords.writeUInt16BE(0xffff, 8);
  manyRecords.writeUInt16BE(0xffff, 10);
  // An OPT record cut after its type.
  const cutOpt = Buffer.concat([
    encodeQuery(0x4243, 'sip.branch.example.com', 1, { ednsPayload: 1232 }).subarray(0, -8),
  ]);
  const short = Buffer.from([1, 2, 3, 4, 5]);
  // Bytes that look like a query header followed by noise (fixed, so every run sends the same).
  const noise = Buffer.alloc(100);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 151 + 7) & 0xff;
  noise[2] = 0x01;
  return [manyQuestions, overrun, loop, manyRecords, cutOpt, short, noise];
}

/** True when a DNS server on 127.0.0.1:`port` answers an A query for `name` within `timeoutMs`. */
export function probeQuery(port: number, name: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const id = Math.floor(Math.random() * 0x10000);
    const finish = (answered: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolve(answered);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('message', (msg) => {
      if (msg.length >= 2 && msg.readUInt16BE(0) === id) finish(true);
    });
    socket.on('error', () => finish(false));
    socket.send(encodeQuery(id, name, 1), port, '127.0.0.1');
  });
}

/** The `q`-quantile (0..1) of `values`, by the nearest-rank method. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

/** Skips a (possibly compressed) name at `offset`; returns the offset after it. */
function skipName(msg: Buffer, offset: number): number {
  let p = offset;
  for (;;) {
    const length = msg[p] as number;
    if (length === 0) return p + 1;
    if (length >= 0xc0) return p + 2;
    p += length + 1;
  }
}

/** The answer records of a response: type and raw RDATA each, to check how names inside it are written. */
export function answerRecords(msg: Buffer): Array<{ type: number; rdata: Buffer }> {
  let p = skipName(msg, 12) + 4;
  const records: Array<{ type: number; rdata: Buffer }> = [];
  for (let i = 0; i < msg.readUInt16BE(6); i++) {
    p = skipName(msg, p);
    const type = msg.readUInt16BE(p);
    const length = msg.readUInt16BE(p + 8);
    records.push({ type, rdata: msg.subarray(p + 10, p + 10 + length) });
    p += 10 + length;
  }
  return records;
}

/** `name` in DNS wire form, written in full. */
export function wireName(name: string): Buffer {
  return Buffer.concat([
    ...name
      .split('.')
      .filter(Boolean)
      .map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'latin1')])),
    Buffer.from([0]),
  ]);
}

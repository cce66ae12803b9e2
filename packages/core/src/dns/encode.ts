import dns2 from 'dns2';
import { CLASS_IN, HEADER_BYTES } from './wire.js';

const { Packet } = dns2;
export type Resource = InstanceType<typeof Packet.Resource>;

/** Compression pointers reach the first 16 KiB of a message (14-bit offsets, RFC 1035 §4.1.4). */
const MAX_POINTER_OFFSET = 0x3fff;

/**
 * Encodes a response: header (QR and AA set, RA as given, ID 0), the question, then the records.
 *
 * Each record is encoded by dns2 on its own, so its RDATA has no compression pointers: RFC 2782 forbids them in
 * SRV targets (and RFC 3403 in NAPTR replacements), and current resolvers reject them there (c-ares 1.34.8, in
 * Node.js 22 and 24, answers EBADRESP), while dns2 compresses every name it writes. Owner names, where
 * compression is always allowed, are compressed here against the question and the owners before them, so a
 * record for the queried name costs 2 bytes of name, not the whole name again.
 */
export function encodeResponse(
  name: string,
  qtype: number,
  records: { answers: readonly Resource[]; additionals: readonly Resource[] },
  recursion: boolean,
): Buffer {
  const header = new Packet.Header({
    qr: 1,
    aa: 1,
    ra: recursion ? 1 : 0,
    qdcount: 1,
    ancount: records.answers.length,
    arcount: records.additionals.length,
  }).toBuffer();
  const names = new NameCompressor();
  const question = Buffer.alloc(4);
  question.writeUInt16BE(qtype, 0);
  question.writeUInt16BE(CLASS_IN, 2);
  const parts: Buffer[] = [header, names.write(name, HEADER_BYTES), question];
  let offset = HEADER_BYTES + (parts[1] as Buffer).length + question.length;
  for (const record of [...records.answers, ...records.additionals]) {
    const encoded = Packet.Resource.encode(record);
    const owner = names.write(record.name, offset);
    const rest = encoded.subarray(wireLength(record.name));
    parts.push(owner, rest);
    offset += owner.length + rest.length;
  }
  return Buffer.concat(parts);
}

/** Bytes of a name written out in full: each label with its length byte, and the root. */
function wireLength(name: string): number {
  return name.split('.').reduce((n, label) => n + (label ? label.length + 1 : 0), 1);
}

/** Writes names with RFC 1035 compression, remembering where each suffix was written. */
class NameCompressor {
  private readonly offsets = new Map<string, number>();

  /** The wire form of `name` written at `offset`: its new labels, then a pointer to a known suffix or the root. */
  write(name: string, offset: number): Buffer {
    const labels = name.toLowerCase().split('.').filter(Boolean);
    const bytes: number[] = [];
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.');
      const known = this.offsets.get(suffix);
      if (known !== undefined) {
        bytes.push(0xc0 | (known >> 8), known & 0xff);
        return Buffer.from(bytes);
      }
      if (offset + bytes.length <= MAX_POINTER_OFFSET) this.offsets.set(suffix, offset + bytes.length);
      const label = labels[i] as string;
      bytes.push(label.length, ...Buffer.from(label, 'latin1'));
    }
    bytes.push(0);
    return Buffer.from(bytes);
  }
}

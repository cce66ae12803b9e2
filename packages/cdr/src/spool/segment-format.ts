/**
 * The frame of one spool entry in a segment file:
 *
 *   magic "CDR1" (4 bytes) | header length (u32 BE) | body length (u32 BE) | CRC-32 of header + body (u32 BE)
 *   header: JSON, UTF-8 | body: the CDR XML, UTF-8
 *
 * Frames follow each other with nothing in between. The lengths let a reader skip bodies; the CRC tells a
 * complete frame from the torn or zero-filled tail a crash can leave after the last fsync.
 */
import { crc32 } from './crc32.js';

export const FRAME_MAGIC = 0x43445231;
export const PREFIX_BYTES = 16;
/** A header is a few hundred bytes; anything much larger is not a header. */
export const MAX_HEADER_BYTES = 1024 * 1024;
/** Far above any CDR (the receiver's default limit is 64 MiB); a larger length is a corrupt prefix. */
export const MAX_BODY_BYTES = 1024 * 1024 * 1024;

/** The buffers of one frame, ready for `writev`. */
export function encodeFrame(header: Buffer, body: Buffer): [Buffer, Buffer, Buffer] {
  const prefix = Buffer.allocUnsafe(PREFIX_BYTES);
  prefix.writeUInt32BE(FRAME_MAGIC, 0);
  prefix.writeUInt32BE(header.length, 4);
  prefix.writeUInt32BE(body.length, 8);
  prefix.writeUInt32BE(crc32(body, crc32(header)), 12);
  return [prefix, header, body];
}

/** The lengths a frame's prefix announces, or why it is not a frame prefix. */
export type PrefixCheck =
  | { ok: true; headerBytes: number; bodyBytes: number; crc: number; frameBytes: number }
  | { ok: false; reason: string };

/** Checks a prefix read at `offset` of a segment of `segmentBytes` bytes. */
export function readPrefix(prefix: Buffer, offset: number, segmentBytes: number): PrefixCheck {
  if (prefix.length < PREFIX_BYTES) return { ok: false, reason: 'truncated frame prefix' };
  if (prefix.readUInt32BE(0) !== FRAME_MAGIC) return { ok: false, reason: 'no frame magic' };
  const headerBytes = prefix.readUInt32BE(4);
  const bodyBytes = prefix.readUInt32BE(8);
  if (headerBytes === 0 || headerBytes > MAX_HEADER_BYTES || bodyBytes > MAX_BODY_BYTES) {
    return { ok: false, reason: 'implausible frame lengths' };
  }
  const frameBytes = PREFIX_BYTES + headerBytes + bodyBytes;
  if (offset + frameBytes > segmentBytes) return { ok: false, reason: 'frame runs past the end of the file' };
  return { ok: true, headerBytes, bodyBytes, crc: prefix.readUInt32BE(12), frameBytes };
}

/** True when header and body have the CRC the prefix announced. */
export function frameIntact(crc: number, header: Uint8Array, body: Uint8Array): boolean {
  return crc32(body, crc32(header)) === crc;
}

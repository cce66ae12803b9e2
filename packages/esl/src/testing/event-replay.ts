import { EslEvent, type EslEventFormat, EslParser, isEventFrame } from '@pbxkit/esl';
import type { FakePeer } from './fake-peer.js';

/** One event frame cut out of a captured stream, with what routing it to subscribers needs. */
export interface ReplayFrame {
  name: string;
  subclass: string | undefined;
  format: EslEventFormat;
  /** The frame's bytes exactly as captured (envelope and payload). */
  bytes: Buffer;
  /** Its decoded headers, by lower-cased name (for filters and re-encoding). */
  lower: Map<string, string>;
  headers: Record<string, string>;
  body: string;
}

/**
 * The event frames of a captured FreeSWITCH stream (a `fixtures/esl/*.txt` file: replies and other frames
 * are skipped), byte for byte, in order.
 */
export function cutEventFrames(capture: Buffer): ReplayFrame[] {
  const out: ReplayFrame[] = [];
  let start = 0;
  for (const frame of new EslParser().feed(capture)) {
    const bytes = capture.subarray(start, frame.streamOffset);
    start = frame.streamOffset;
    if (!isEventFrame(frame)) continue;
    const event = EslEvent.fromFrame(frame);
    const headers = event.headers;
    out.push({
      name: event.name,
      subclass: event.subclass,
      format: frame.contentType.slice('text/event-'.length) as EslEventFormat,
      bytes: Buffer.from(bytes),
      lower: new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
      headers,
      body: event.body,
    });
  }
  return out;
}

/** Flush a peer's pending bytes past this size: large writes, as FreeSWITCH's own under load. */
const CHUNK_BYTES = 256 * 1024;

/**
 * Writes the frames `repeat` times to every peer subscribed to each, in order, honouring backpressure; resolves
 * with how many events were delivered in all.
 */
export async function replayFrames(
  peers: FakePeer[],
  frames: ReplayFrame[],
  repeat: number,
): Promise<number> {
  let delivered = 0;
  const pending = peers.map(() => ({ chunks: [] as Buffer[], bytes: 0 }));
  const flush = async (i: number) => {
    const peer = peers[i] as FakePeer;
    const p = pending[i] as { chunks: Buffer[]; bytes: number };
    if (p.bytes === 0) return;
    const data = Buffer.concat(p.chunks);
    p.chunks = [];
    p.bytes = 0;
    if (!peer.isOpen) return;
    if (!peer.socket.write(data)) await drained(peer);
  };
  for (let r = 0; r < repeat; r++) {
    for (const frame of frames) {
      for (let i = 0; i < peers.length; i++) {
        const bytes = (peers[i] as FakePeer).replayBytes(frame);
        if (!bytes) continue;
        const p = pending[i] as { chunks: Buffer[]; bytes: number };
        p.chunks.push(bytes);
        p.bytes += bytes.length;
        delivered++;
        if (p.bytes >= CHUNK_BYTES) await flush(i);
      }
    }
  }
  for (let i = 0; i < peers.length; i++) await flush(i);
  return delivered;
}

/** Resolves when the peer's socket drained or closed, leaving no listener behind (replays wait thousands of times). */
function drained(peer: FakePeer): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      peer.socket.off('drain', done);
      peer.socket.off('close', done);
      resolve();
    };
    peer.socket.on('drain', done);
    peer.socket.on('close', done);
  });
}

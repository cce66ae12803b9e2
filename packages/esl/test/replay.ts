import { connect, createServer, type Server } from 'node:net';
import { type EslFrame, EslParser } from '../src/index.js';

const isReply = (f: EslFrame) => f.contentType === 'command/reply' || f.contentType === 'api/response';

/**
 * Plays a captured FreeSWITCH stream to a client or server under test, command by command: on the k-th
 * command received it sends the captured bytes up to and including the k-th reply, then the events that
 * followed it in the capture. Bytes are sent exactly as captured.
 */
export class StreamReplayer {
  readonly commands: EslFrame[] = [];
  private readonly slices: Array<{ bytes: Buffer; reply: boolean }> = [];
  private next = 0;

  constructor(capture: Buffer) {
    let start = 0;
    for (const frame of new EslParser().feed(capture)) {
      this.slices.push({ bytes: capture.subarray(start, frame.streamOffset), reply: isReply(frame) });
      start = frame.streamOffset;
    }
  }

  /** Connects to an outbound socket server as FreeSWITCH's `socket` application; resolves when it closed. */
  dialOutbound(port: number): Promise<void> {
    const socket = connect({ host: '127.0.0.1', port });
    const parser = new EslParser();
    return new Promise((resolve, reject) => {
      socket.on('error', reject);
      socket.on('close', () => resolve());
      socket.on('data', (chunk: Buffer) => {
        for (const command of parser.feed(chunk)) {
          this.commands.push(command);
          socket.write(this.answer());
          if (this.next >= this.slices.length) socket.end();
        }
      });
    });
  }

  /**
   * Serves the capture to one inbound client, as FreeSWITCH's port 8021 would: sends what came before the
   * first reply (the auth request) on connect, then answers command by command; closes when the capture ends.
   */
  async serveInbound(): Promise<{ port: number; server: Server }> {
    const server = createServer((socket) => {
      const parser = new EslParser();
      socket.on('error', () => {});
      socket.write(this.leading());
      socket.on('data', (chunk: Buffer) => {
        for (const command of parser.feed(chunk)) {
          this.commands.push(command);
          socket.write(this.answer());
          if (this.next >= this.slices.length) socket.end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as { port: number }).port, server };
  }

  private leading(): Buffer {
    const out: Buffer[] = [];
    while (this.next < this.slices.length && !this.slices[this.next]?.reply) {
      out.push((this.slices[this.next] as { bytes: Buffer }).bytes);
      this.next++;
    }
    return Buffer.concat(out);
  }

  private answer(): Buffer {
    const out: Buffer[] = [];
    let replies = 0;
    while (this.next < this.slices.length) {
      const slice = this.slices[this.next] as { bytes: Buffer; reply: boolean };
      if (slice.reply && replies === 1) break;
      if (slice.reply) replies++;
      out.push(slice.bytes);
      this.next++;
    }
    return Buffer.concat(out);
  }
}

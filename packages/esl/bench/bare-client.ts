/**
 * The floor of the sequential api benchmark: the least work any event socket client can do per call against the
 * same server. No library: one `write()` per command, a minimal scan of the reply for its `Content-Length`, no
 * timeouts, no metrics, no error handling. It is not a usable client (it assumes every reply is an
 * `api/response` to the last command); it shows how much of a sequential round trip is the loopback and the
 * server, which no client can remove.
 */
import { connect, type Socket } from 'node:net';

export interface BareClient {
  call(command: string): Promise<string>;
  close(): Promise<void>;
}

export async function openBareClient(port: number, password: string): Promise<BareClient> {
  const socket: Socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.setEncoding('latin1');
  let buffered = '';
  let waiting: ((body: string) => void) | undefined;
  const nextFrame = () =>
    new Promise<string>((resolve) => {
      waiting = resolve;
      deliver();
    });
  function deliver(): void {
    if (!waiting) return;
    const end = buffered.indexOf('\n\n');
    if (end === -1) return;
    const at = buffered.lastIndexOf('Content-Length: ', end);
    const length = at === -1 ? 0 : Number.parseInt(buffered.slice(at + 16, end), 10);
    if (buffered.length < end + 2 + length) return;
    const body = buffered.slice(end + 2, end + 2 + length);
    buffered = buffered.slice(end + 2 + length);
    const resolve = waiting;
    waiting = undefined;
    resolve(body);
  }
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    deliver();
  });
  await nextFrame(); // auth/request
  socket.write(`auth ${password}\n\n`);
  await nextFrame(); // +OK accepted
  return {
    call(command) {
      socket.write(`api ${command}\n\n`);
      return nextFrame();
    },
    close: () =>
      new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.end();
      }),
  };
}

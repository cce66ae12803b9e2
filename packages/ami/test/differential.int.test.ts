import { createRequire } from 'node:module';
import net from 'node:net';
import { AmiClient, type AmiMessage } from '@pbxkit/ami';
import { describe, expect, it } from 'vitest';
import { rx } from './fixtures.js';
import { onCleanup } from './helpers.js';

// asterisk-manager is the library most users come from; it is a devDependency for this comparison only.
const Manager = createRequire(import.meta.url)('asterisk-manager') as new (
  port: number,
  host: string,
  user: string,
  secret: string,
  events: boolean,
) => {
  on(event: string, fn: (e: Record<string, unknown>) => void): void;
  action(fields: Record<string, string>, cb: (err: unknown, res: Record<string, unknown>) => void): void;
  disconnect(): void;
};

const BANNER = 'Asterisk Call Manager/11.0.0\r\n';

/** The broadcast events of the captures, as Asterisk sent them, plus a marker event that ends the stream. */
function capturedEventStream(): string {
  const blocks = ['26-coreshowchannels-active', '28-originate-async-success'].flatMap((name) =>
    rx(name)
      .toString('utf8')
      .split('\r\n\r\n')
      .filter((block) => block.startsWith('Event: ') && !block.includes('\r\nActionID: ')),
  );
  return `${blocks.map((b) => `${b}\r\n\r\n`).join('')}Event: StreamEnd\r\n\r\n`;
}

/**
 * A server that accepts any login, answers `Command` with the captured `dialplan show` response, and sends
 * the captured event stream once logged in: the same bytes for both libraries.
 */
async function replayServer(): Promise<number> {
  const stream = capturedEventStream();
  const dialplan = rx('10-command-multiline')
    .toString('utf8')
    .split('\r\n\r\n')
    .find((b) => b.includes('ActionID: cmd-dp')) as string;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.write(BANNER);
    let buffered = '';
    socket.on('data', (d) => {
      buffered += d.toString();
      let end = buffered.indexOf('\r\n\r\n');
      while (end !== -1) {
        const action = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        const id = /actionid: (.*)/i.exec(action)?.[1] ?? '';
        if (/^action: login/im.test(action)) {
          socket.write(
            `Response: Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\n${stream}`,
          );
        } else if (/^action: logoff/im.test(action)) {
          socket.end(`Response: Goodbye\r\nActionID: ${id}\r\nMessage: Thanks for all the fish.\r\n\r\n`);
        } else if (/^action: command/im.test(action)) {
          socket.write(`${dialplan.replace('ActionID: cmd-dp', `ActionID: ${id}`)}\r\n\r\n`);
        }
        end = buffered.indexOf('\r\n\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as net.AddressInfo).port;
}

async function withAsteriskManager(port: number) {
  const ami = new Manager(port, '127.0.0.1', 'admin', 'secret', true);
  onCleanup(async () => ami.disconnect());
  const events: Record<string, unknown>[] = [];
  await new Promise<void>((resolve) => {
    ami.on('managerevent', (e) => {
      if (e.event === 'StreamEnd') resolve();
      else events.push(e);
    });
  });
  const output = await new Promise<Record<string, unknown>>((resolve, reject) =>
    ami.action({ action: 'Command', command: 'dialplan show test-context' }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
  return { events, output };
}

async function withPbxkit(port: number) {
  const client = new AmiClient({
    host: '127.0.0.1',
    port,
    username: 'admin',
    secret: 'secret',
    keepaliveMs: 0,
  });
  onCleanup(() => client.close());
  const events: AmiMessage[] = [];
  const ended = new Promise<void>((resolve) => {
    client.on('event', (e) => {
      if (e.name === 'StreamEnd') resolve();
      else events.push(e);
    });
  });
  await client.connect();
  await ended;
  return { events, output: await client.command('dialplan show test-context') };
}

describe('differential: @pbxkit/ami and asterisk-manager read the same bytes the same way', () => {
  it('sees the same events with the same values', async () => {
    const port = await replayServer();
    const theirs = await withAsteriskManager(port);
    const ours = await withPbxkit(port);
    expect(ours.events.length).toBeGreaterThan(50);
    expect(ours.events.map((e) => e.name)).toEqual(theirs.events.map((e) => e.event));
    ours.events.forEach((event, i) => {
      const other = theirs.events[i] as Record<string, unknown>;
      event.keys.forEach((key, k) => {
        const lower = key.toLowerCase();
        // asterisk-manager turns Variable/ChanVariable into an object of name=value pairs: not comparable.
        if (lower === 'variable' || lower === 'chanvariable') return;
        expect(other[lower], `${event.name} ${key}`).toBe(event.values[k]);
      });
    });
  });

  it('returns the same Command output, as one string whatever the line count', async () => {
    const port = await replayServer();
    const theirs = await withAsteriskManager(port);
    const ours = await withPbxkit(port);
    // asterisk-manager hands back an array of Output values (or a string for a single line).
    expect(ours.output).toBe((theirs.output.output as string[]).join('\n'));
    expect(ours.output.split('\n')).toHaveLength(17);
  });
});

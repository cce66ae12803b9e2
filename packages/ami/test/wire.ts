import net from 'node:net';
import { type AmiMessage, AmiParser } from '@pbxkit/ami';
import type { FakeAsterisk } from '@pbxkit/ami/testing';

/** Logs in as `user`, sends `actions` (wire text), logs off, and returns every byte the fake sent back. */
export async function session(
  fake: FakeAsterisk,
  user: string,
  secret: string,
  actions: string,
  events = 'on',
) {
  const socket = net.connect(fake.port, fake.host);
  const chunks: Buffer[] = [];
  socket.on('data', (d) => chunks.push(d));
  socket.write(
    `Action: Login\r\nActionID: login\r\nUsername: ${user}\r\nSecret: ${secret}\r\nEvents: ${events}\r\n\r\n` +
      `${actions}Action: Logoff\r\nActionID: bye\r\n\r\n`,
  );
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
  return Buffer.concat(chunks).toString('utf8');
}

/** The messages in `text` (the banner first). */
export function messages(text: string): AmiMessage[] {
  return new AmiParser().feed(Buffer.from(text));
}

/** The reply to the action with ActionID `id`, as Asterisk's bytes. */
export function reply(text: string, id: string): string {
  const block = text
    .split('\r\n\r\n')
    .find((b) => b.startsWith('Response: ') && `${b}\r\n`.includes(`\r\nActionID: ${id}\r\n`));
  return `${block}\r\n\r\n`;
}

/** One reply (as {@link reply} gives it) parsed. */
export function parseReply(text: string): AmiMessage {
  return new AmiParser({ expectBanner: false }).feed(Buffer.from(text))[0] as AmiMessage;
}

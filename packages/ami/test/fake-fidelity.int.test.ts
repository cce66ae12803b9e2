import net from 'node:net';
import { AmiParser, commandOutput } from '@pbxkit/ami';
import type { FakeAsterisk } from '@pbxkit/ami/testing';
import { describe, expect, it } from 'vitest';
import { capturedSipAdditional } from './captured-conf.js';
import { rx, tx } from './fixtures.js';
import { startFake } from './helpers.js';

/** Writes the captured client bytes and collects everything the fake sends until it closes the socket. */
async function replay(fake: FakeAsterisk, capture: string): Promise<string> {
  const socket = net.connect(fake.port, fake.host);
  const chunks: Buffer[] = [];
  socket.on('data', (d) => chunks.push(d));
  socket.write(tx(capture));
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
  return Buffer.concat(chunks).toString('utf8');
}

/** A fake set up with what each capture's Asterisk had: the lab user, the config file, the CLI output. */
async function labFake(): Promise<FakeAsterisk> {
  const fake = await startFake({
    users: { synch: 'SomePasswordHere' },
    loginFailureDelayMs: 10,
    systemName: 'pbxkit-lab',
  });
  fake.setConfig('sip_additional.conf', capturedSipAdditional());
  for (const m of new AmiParser().feed(rx('10-command-multiline'))) {
    const cli = /Command: ([^\r\n]*)/.exec(
      tx('10-command-multiline')
        .toString()
        .split('\r\n\r\n')
        .find((block) => block.includes(`ActionID: ${m.actionId}\r\n`)) ?? '',
    )?.[1];
    if (cli && m.has('Output')) fake.onCommand(cli, commandOutput(m));
  }
  fake.onAction('CoreShowChannels', (action, session) => {
    session.sendList(action, 'CoreShowChannel', [], { message: 'Channels will follow' });
  });
  return fake;
}

describe('FakeAsterisk answers the captured client bytes with the captured server bytes', () => {
  for (const capture of [
    '02-login-failure',
    '09-command-core-show-version',
    '10-command-multiline',
    '12-getconfig-sip-additional',
    '14-getconfig-category',
    '25-coreshowchannels-empty',
    '32-logoff',
  ]) {
    it(capture, async () => {
      const fake = await labFake();
      expect(await replay(fake, capture)).toBe(rx(capture).toString('utf8'));
    });
  }

  it('01-login-success, clock values, session id and ports aside', async () => {
    const fake = await labFake();
    const vary = [
      /(Uptime|LastReload): \d+/g,
      /(EventTV|SessionTV): [^\r]+/g,
      /SessionID: 0x[0-9a-f]+/g,
      /(Local|Remote)Address: IPV4\/TCP\/127\.0\.0\.1\/\d+/g,
    ];
    const normalise = (text: string) =>
      vary.reduce((t, re) => t.replace(re, (m) => m.split(':')[0] ?? ''), text);
    expect(normalise(await replay(fake, '01-login-success'))).toBe(
      normalise(rx('01-login-success').toString('utf8')),
    );
  });

  it('06-ping, timestamps aside', async () => {
    const fake = await labFake();
    const stamp = /Timestamp: \d+\.\d{6}/g;
    expect((await replay(fake, '06-ping')).replace(stamp, 'T')).toBe(
      rx('06-ping').toString('utf8').replace(stamp, 'T'),
    );
  });
});

describe('FakeAsterisk session rules', () => {
  it('refuses actions before login with Permission denied and names unknown actions', async () => {
    const fake = await labFake();
    const socket = net.connect(fake.port, fake.host);
    const received: Buffer[] = [];
    socket.on('data', (d) => received.push(d));
    socket.write(
      'Action: Ping\r\nActionID: early\r\n\r\n' +
        'Action: Login\r\nActionID: l\r\nUsername: synch\r\nSecret: SomePasswordHere\r\nEvents: off\r\n\r\n' +
        'Action: Login\r\nActionID: again\r\nUsername: synch\r\nSecret: SomePasswordHere\r\n\r\n' +
        'Action: Frobnicate\r\nActionID: u\r\n\r\n' +
        'ActionID: none\r\n\r\n' +
        'Action: Logoff\r\n\r\n',
    );
    await new Promise((resolve) => socket.on('close', resolve));
    const replies = new AmiParser().feed(Buffer.concat(received));
    expect(replies.map((r) => [r.name, r.actionId, r.get('Message')])).toEqual([
      ['Error', 'early', 'Permission denied'],
      ['Success', 'l', 'Authentication accepted'],
      ['Success', 'again', 'Already authenticated'],
      [
        'Error',
        'u',
        'Invalid/unknown command: Frobnicate. Use Action: ListCommands to show available commands.',
      ],
      ['Error', 'none', 'Missing action in request'],
      ['Goodbye', undefined, 'Thanks for all the fish.'],
    ]);
  });
});

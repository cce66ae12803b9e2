import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EslParser } from '../src/index.js';
import { FakeFreeSwitch } from '../src/testing/index.js';
import { eslFixture } from './fixtures.js';

/** Sends the bytes a real client sent to FreeSWITCH, and collects what the fake answers. */
async function converse(port: number, sent: Buffer, expectedLength: number): Promise<Buffer> {
  const socket = connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  let length = 0;
  return new Promise((resolve, reject) => {
    const done = () => {
      socket.destroy();
      resolve(Buffer.concat(chunks));
    };
    socket.on('error', reject);
    socket.on('close', done);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= expectedLength) done();
    });
    socket.once('connect', () => socket.write(sent));
  });
}

describe('FakeFreeSwitch answers like FreeSWITCH 1.10.12, byte for byte', () => {
  let fake: FakeFreeSwitch;
  beforeEach(async () => {
    fake = await FakeFreeSwitch.start();
  });
  afterEach(async () => {
    await fake.stop();
  });

  for (const name of [
    '01-connect-auth-request',
    '02-auth-ok',
    '03-auth-wrong-password',
    '05-api-show-channels-as-json-idle',
    '10-api-bogus-command',
    '18-exit-disconnect-notice',
    '19-command-before-auth',
  ]) {
    it(name, async () => {
      const expected = eslFixture(`${name}.txt`);
      const got = await converse(fake.port, eslFixture(`${name}.sent`), expected.length);
      expect(got.toString('latin1')).toBe(expected.toString('latin1'));
    });
  }

  it('04-api-status: same frames, status text in the same layout', async () => {
    const expected = new EslParser().feed(eslFixture('04-api-status.txt'));
    const got = new EslParser().feed(await converse(fake.port, eslFixture('04-api-status.sent'), 400));
    expect(got.map((f) => f.contentType)).toEqual(expected.map((f) => f.contentType));
    const pattern = (text: string) =>
      text.replace(/\d+(\.\d+)?/g, 'N').replace(/\(Version [^)]*\)/, '(Version V)');
    expect(pattern(got[2]?.bodyText ?? '')).toBe(pattern(expected[2]?.bodyText ?? ''));
  });

  it('11-bgapi: same replies, and each job reported by a BACKGROUND_JOB event with the same headers', async () => {
    const expected = new EslParser().feed(eslFixture('11-bgapi-status-background-job.txt'));
    const sent = eslFixture('11-bgapi-status-background-job.sent');
    const got: ReturnType<EslParser['feed']> = [];
    const parser = new EslParser();
    const socket = connect({ host: '127.0.0.1', port: fake.port });
    await new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        got.push(...parser.feed(chunk));
        if (got.length >= expected.length) resolve();
      });
      socket.once('connect', () => socket.write(sent));
    });
    socket.destroy();
    expect(got.map((f) => f.contentType)).toEqual(expected.map((f) => f.contentType));
    // The client chose this Job-UUID: FreeSWITCH must echo it in the reply and in the event.
    const fixed = '11111111-2222-4333-8444-555555555555';
    const reply = got.find((f) => f.headers['Job-UUID'] === fixed);
    expect(reply?.headers['Reply-Text']).toBe(`+OK Job-UUID: ${fixed}`);
    const names = (frames: typeof got) =>
      frames
        .filter((f) => f.contentType === 'text/event-plain')
        .map((f) =>
          f.bodyText
            .split('\n\n')[0]
            ?.split('\n')
            .map((l) => l.split(':')[0]),
        );
    expect(names(got)).toEqual(names(expected).map((n) => n?.filter((h) => h !== 'Job-Command-Arg')));
  });
});

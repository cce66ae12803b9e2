// The fake Asterisk both clients talk to: one FakeAsterisk (from the build), with two bench actions.
// - BenchEvents (Count: N): answers, then streams N events taken from a real Asterisk 22 capture, then
//   a BenchDone event. Both libraries receive the very same bytes.
// - Echo (Token: x): answers Echo: x, so a client can tell whether each response reached its caller.
import { readFileSync } from 'node:fs';
import { FakeAsterisk } from '../dist/testing.js';

const capture = readFileSync(
  new URL('../../../fixtures/ami/28-originate-async-success.rx', import.meta.url),
  'utf8',
);

/**
 * The call events of the capture (no ActionID; FullyBooted and SuccessfulAuth left out, since clients see
 * them at login and must not count them), each a complete wire block.
 */
export const EVENT_BLOCKS = capture
  .split('\r\n\r\n')
  .filter((block) => block.startsWith('Event: ') && !block.includes('\r\nActionID: '))
  .filter((block) => !block.startsWith('Event: FullyBooted') && !block.startsWith('Event: SuccessfulAuth'))
  .map((block) => `${block}\r\n\r\n`);

/** Streams `count` events in ~256 KiB writes, waiting for the socket to drain when it asks to. */
async function streamEvents(session, count) {
  let sent = 0;
  let i = 0;
  while (sent < count) {
    let batch = '';
    while (sent < count && batch.length < 256 * 1024) {
      batch += EVENT_BLOCKS[i];
      i = (i + 1) % EVENT_BLOCKS.length;
      sent++;
    }
    if (!session.write(batch)) await session.drained();
    if (session.closed) return;
  }
  session.write('Event: BenchDone\r\n\r\n');
}

export async function startBenchServer() {
  const fake = new FakeAsterisk({ users: { bench: 'bench' }, recordActions: false });
  fake.onAction('BenchEvents', (action, session) => {
    session.respond(action, undefined, 'Events will follow');
    void streamEvents(session, Number(action.get('Count')));
  });
  fake.onAction('Echo', (action) => ({ Echo: action.get('Token') ?? '' }));
  return fake.start();
}

// The FreeSWITCH side of the cluster benchmark, in a process of its own (so that its CPU is not the view's):
// three FakeFreeSwitch nodes that replay the recorded events of the repository's fixtures on request.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cutEventFrames, FakeFreeSwitch } from '@pbxkit/esl/testing';

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '../../../fixtures');
/** The recorded events replayed: a loopback call (event plain ALL) and a call-centre member served by an agent. */
export const REPLAYED = [
  join(fixtures, 'esl', '12-event-plain-all-during-call.txt'),
  join(fixtures, 'fs-modules', 'esl', '51-event-custom-callcenter-info-member-waits-agent-status.txt'),
];

export type FakesRequest = { replay: number } | { stop: true };
export type FakesReply = { ports: number[] } | { written: number; ms: number };

async function main(): Promise<void> {
  const frames = REPLAYED.flatMap((path) => cutEventFrames(readFileSync(path)));
  const nodes = await Promise.all(
    ['fs1', 'fs2', 'fs3'].map((hostname) => FakeFreeSwitch.start({ hostname })),
  );
  for (const [i, node] of nodes.entries()) {
    const cc = node.loadCallcenter().addQueue('support@default');
    cc.addAgent('agent-a@default').addAgent('agent-b@default');
    cc.addTier('support@default', 'agent-a@default').addTier('support@default', 'agent-b@default', 1, 2);
    // Registrations for the snapshot: 1,000 users per node.
    for (let u = 0; u < 1000; u++) node.register({ user: String(1000 + u), domain: `d${i + 1}.example` });
  }
  const send = (reply: FakesReply) => process.send?.(reply);
  process.on('message', async (request: FakesRequest) => {
    if ('stop' in request) {
      await Promise.all(nodes.map((n) => n.stop()));
      process.exit(0);
    }
    const started = performance.now();
    const written = await Promise.all(nodes.map((n) => n.replayEvents(frames, { repeat: request.replay })));
    send({ written: written.reduce((a, b) => a + b, 0), ms: performance.now() - started });
  });
  send({ ports: nodes.map((n) => n.port) });
}

void main();

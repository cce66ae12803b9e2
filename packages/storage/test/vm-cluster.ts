import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pgClient } from '@pbxkit/core';
import { EslClient } from '@pbxkit/esl';
import { FakeFreeSwitch } from '@pbxkit/esl/testing';
import type pg from 'pg';
import {
  LocalFsBackend,
  ModVoicemailIndex,
  PgVoicemailNotifier,
  type StorageBackend,
  VoicemailAgent,
  type VoicemailAgentOptions,
  voicemailEventsFromEsl,
} from '../src/index.js';
import type { TestNode } from './vm-helpers.js';

/** A node of the test cluster with its agent running: a voicemail tree, a fake switch, an ESL client. */
export interface RunningNode extends TestNode {
  local: LocalFsBackend;
  agent: VoicemailAgent;
  esl: EslClient;
  notifier: PgVoicemailNotifier;
  stop: () => Promise<void>;
}

/** Starts node `name`: its own directory, FakeFreeSwitch, ESL subscription and agent on the shared tier. */
export async function startNode(
  name: string,
  db: { url: string; pool: pg.Pool },
  shared: StorageBackend,
  extra: Partial<VoicemailAgentOptions> = {},
): Promise<RunningNode> {
  const dir = await mkdtemp(join(tmpdir(), `vm-node-${name}-`));
  const root = join(dir, 'storage', 'voicemail');
  await mkdir(root, { recursive: true });
  const local = new LocalFsBackend({ root, name: `local:${name}`, minFreeBytes: 0 });
  const fake = await FakeFreeSwitch.start({ hostname: name });
  const esl = new EslClient({ port: fake.port, password: 'ClueCon' });
  await esl.connect();
  const subscribed = fake.waitForCommand('event plain CUSTOM vm::maintenance');
  const notifier = new PgVoicemailNotifier({ connectionString: db.url, reconnectDelayMs: 200 });
  await notifier.start();
  const agent = new VoicemailAgent({
    local,
    shared,
    index: new ModVoicemailIndex(pgClient(db.pool), { root }),
    events: voicemailEventsFromEsl(esl),
    notifier,
    instanceId: name,
    reconcileIntervalMs: 0,
    graceMs: 1000,
    minFileAgeMs: 0,
    ...extra,
  });
  agent.start();
  await subscribed;
  return {
    name,
    root,
    fake,
    local,
    agent,
    esl,
    notifier,
    stop: async () => {
      await agent.stop();
      await notifier.close();
      await esl.close();
      await fake.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

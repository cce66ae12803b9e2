import type { Logger, Registry } from '@pbxkit/core';
import { openSqlClient } from '@pbxkit/core';
import { EslClient } from '@pbxkit/esl';
import {
  createVoicemailHandler,
  FusionPbxVoicemailIndex,
  LocalFsBackend,
  ModVoicemailIndex,
  PgVoicemailNotifier,
  type RecordingsHandler,
  S3Backend,
  VoicemailAgent,
  voicemailEventsFromEsl,
} from '@pbxkit/storage';
import type { ReferenceServerConfig } from '../config/load.js';
import type { VoicemailConfig } from '../config/resolve.js';
import type { OperatorGate } from './auth.js';

/** `/voicemail` and, on a node with an event socket, its agent. */
export interface Voicemail {
  handler: RecordingsHandler;
  agent: VoicemailAgent | undefined;
  close(): Promise<void>;
}

/**
 * Voicemail: the index over the voicemail tables, `GET|HEAD /voicemail/<domain>/<user>/<uuid>` behind the same
 * gate as recordings (this node's tree, then the S3 bucket under its voicemail prefix), and, when the event
 * socket is configured, the agent that keeps the tree and the bucket in step (events through @pbxkit/esl, the
 * other nodes told through LISTEN/NOTIFY on the same database).
 */
export async function startVoicemail(
  vm: VoicemailConfig,
  config: ReferenceServerConfig,
  gate: OperatorGate,
  options: { logger: Logger | undefined; registry: Registry },
): Promise<Voicemail> {
  const sql = await openSqlClient({ connectionString: vm.databaseUrl });
  const closers: Array<() => Promise<void>> = [() => sql.close()];
  const index =
    vm.schema === 'fusionpbx'
      ? new FusionPbxVoicemailIndex(sql, vm.root ? { root: vm.root } : {})
      : new ModVoicemailIndex(sql, vm.root ? { root: vm.root } : {});
  const local = vm.root ? new LocalFsBackend({ root: vm.root, name: 'voicemail-local' }) : undefined;
  let shared: S3Backend | undefined;
  if (config.storage.s3) {
    const { keyTemplate: _unused, ...s3 } = config.storage.s3;
    const prefix = [s3.prefix, vm.s3Prefix].filter(Boolean).join('/');
    shared = new S3Backend({ ...s3, prefix, name: 'voicemail-s3' });
  }
  let agent: VoicemailAgent | undefined;
  if (vm.esl && local && shared) {
    const esl = new EslClient({
      host: vm.esl.host,
      port: vm.esl.port,
      password: vm.esl.password,
      ...options,
    });
    const notifier = new PgVoicemailNotifier({
      connectionString: vm.databaseUrl,
      ...(options.logger ? { logger: options.logger } : {}),
    });
    agent = new VoicemailAgent({
      local,
      shared,
      index,
      notifier,
      events: voicemailEventsFromEsl(esl, (err) =>
        options.logger?.warn({ err }, 'voicemail: could not subscribe to vm::maintenance'),
      ),
      instanceId: config.storage.instanceId,
      reconcileIntervalMs: vm.reconcileMs,
      ...(vm.evictDays !== undefined ? { evictAfterDays: vm.evictDays } : {}),
      ...options,
    });
    // Neither the event socket nor the notifier has to be up for the server to start: the reconcile catches up.
    esl
      .connect()
      .catch((err: unknown) => options.logger?.warn({ err }, 'voicemail: event socket not reachable yet'));
    notifier
      .start()
      .catch((err: unknown) => options.logger?.warn({ err }, 'voicemail: notifier not connected yet'));
    agent.start();
    const running = agent;
    // Closed in reverse: the agent first (its copies finish and publish), then the notifier and the socket.
    closers.push(
      () => esl.close(),
      () => notifier.close(),
      () => running.stop(),
    );
  }
  const handler = createVoicemailHandler({
    index,
    ...(local ? { local } : {}),
    ...(shared ? { shared } : {}),
    authorize: (req) => gate.authorize(req),
    ...(gate.links
      ? { links: { signer: gate.links, ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}) } }
      : {}),
    idleTimeoutMs: config.storage.idleTimeoutMs,
    ...options,
  });
  return {
    handler,
    agent,
    async close() {
      for (const close of closers.reverse()) await close().catch(() => {});
      shared?.close();
    },
  };
}

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@pbxkit/core';
import type { BranchSettings } from './config/settings.js';
import { buildParts } from './daemon.js';

/**
 * What the daemon would do, as text: the probe, the DNS answers, the status endpoints, and the file the sync
 * would write with its diff against the last version (read from the main PBX; nothing is written, nothing
 * listens).
 */
export async function dryRun(settings: BranchSettings, logger: Logger): Promise<string> {
  const { probe, dns, status, sync: s, remote: r } = settings;
  const out: string[] = [];
  out.push(
    `probe: ${probe.type} to ${r.host}:${probe.type === 'sip' ? probe.sipPort : r.port} every ${probe.intervalMs / 1000} s (timeout ${probe.timeoutMs / 1000} s), ${probe.policy} policy: failureTolerance ${probe.failureTolerance}, aliveThreshold ${probe.aliveThreshold}, errorPenaltyPoints ${probe.errorPenaltyPoints}`,
    `dns: ${dns.record}.${dns.zone} on ${dns.listenAddress}:${dns.port} answers ${dns.targets.normal.join(', ')} (normal) or ${dns.targets.failover.join(', ')} (failover), TTL ${dns.recordTtl} s; starts ${dns.defaultState ?? 'Normal (defaultstate not set: Init)'}; other names ${dns.forwarder ? `forwarded to ${dns.forwarder}` : 'refused'}`,
    `status: GetStatus(<token>) on ${status.listenAddress}:${status.port}${status.httpPort === undefined ? '' : `, HTTP /status /health /metrics on ${status.listenAddress}:${status.httpPort}`}`,
  );
  if (!s.enabled) {
    out.push('sync: off (no syncmanager settings)');
    return `${out.join('\n')}\n`;
  }
  out.push(
    `sync: ${s.remoteFiles.join(', ')} on ${r.host}:${r.port} → ${s.localFile} on ${settings.local.host}:${settings.local.port} (${s.localConfigsPath ? `written under ${s.localConfigsPath}` : 'through AMI'}), filter ${s.filter ? `${s.filter.key} =~ /${s.filter.value}/` : 'none'}, every ${s.intervalMs / 1000} s, versions in ${s.versionsDir}`,
  );
  // Nothing may be created: without a versions directory yet, an empty throwaway store stands in.
  const exists = existsSync(s.versionsDir);
  const storeDir = exists ? undefined : mkdtempSync(join(tmpdir(), 'branch-failover-dry-run-'));
  const { sync, remote, local } = await buildParts(settings, logger, { storeDir });
  try {
    const preview = await sync?.preview();
    if (preview) {
      out.push(`would write ${preview.file} with ${preview.users} users:`, preview.text);
      out.push(
        preview.diff === ''
          ? 'no change against the last version'
          : `changes against the last version:\n${preview.diff}`,
      );
    }
  } catch (err) {
    out.push(`cannot read the main PBX now: ${(err as Error).message}`);
  } finally {
    await Promise.all([remote.close(), local.close()]);
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
  }
  return `${out.join('\n')}\n`;
}

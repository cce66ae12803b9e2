import { hostname } from 'node:os';
import { isAbsolute, relative, sep } from 'node:path';
import { type Logger, MetricsFactory, type Registry, resolveLogger } from '@pbxkit/core';
import type { ObjectInfo, StorageBackend } from './backend.js';
import type { LocalFsBackend } from './backends/local.js';
import { StorageConfigError, StorageError, StorageNotFoundError, StorageUnavailableError } from './errors.js';
import type { LocationEntry, LocationIndex } from './index/location-index.js';
import { FUSIONPBX_KEY_TEMPLATE, type KeyTemplate, renderKey } from './keys.js';
import type { RecordingLocator, RecordingRef, RecordingSource, ResolvedRecording } from './recording.js';

/** One tier of a {@link TieredRecordingResolver}. */
export interface TierOptions {
  backend: StorageBackend;
  /** How keys are built in this tier. Default {@link FUSIONPBX_KEY_TEMPLATE}. */
  key?: KeyTemplate;
}

/** A peer instance holding its own local recordings (reached through a `PeerProxyBackend`). */
export interface PeerTierOptions extends TierOptions {
  /** The peer's instance id, as recorded in the location index. */
  instanceId: string;
}

/** A tier, as named in a tier order: this instance's disk, the archive (S3), or the peers (in their order). */
export type TierName = 'local' | 'archive' | 'peers';

const TIER_NAMES: readonly TierName[] = ['local', 'archive', 'peers'];

/**
 * Checks a tier order: every tier named exactly once (`local`, `archive` or its alias `s3`, `peers`), so that a
 * tier left out by mistake cannot turn a recording it holds into a 404. Returns it with `s3` as `archive`;
 * throws `StorageConfigError` naming `what` (the option or environment variable).
 */
export function checkTierOrder(order: readonly string[], what: string): TierName[] {
  const names = order.map((n) => (n.trim().toLowerCase() === 's3' ? 'archive' : n.trim().toLowerCase()));
  const unknown = names.find((n) => !TIER_NAMES.includes(n as TierName));
  if (unknown !== undefined) {
    throw new StorageConfigError(
      what,
      `unknown tier ${JSON.stringify(unknown)}: use local, peers and s3 (or archive)`,
    );
  }
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new StorageConfigError(what, `${JSON.stringify(twice)} is listed twice`);
  const missing = TIER_NAMES.filter((n) => !names.includes(n));
  if (missing.length > 0) {
    throw new StorageConfigError(
      what,
      `${JSON.stringify(order.join(','))} leaves out ${missing.join(' and ')}: name every tier once, e.g. local,peers,s3 (tiers that are not configured are skipped)`,
    );
  }
  return names as TierName[];
}

/** Options of {@link TieredRecordingResolver}. */
export interface TieredRecordingResolverOptions {
  /** Finds a call's recording reference (call start, path, name), typically in the CDR store. */
  locator?: RecordingLocator;
  /** This instance's own disk. */
  local?: TierOptions;
  /** The archive (S3). */
  archive?: TierOptions;
  /** Other instances, tried after local and archive. */
  peers?: PeerTierOptions[];
  /** Calls younger than this many days are looked for on local disk first, older ones in the archive. Default 5. */
  localDays?: number;
  /**
   * The order tiers are probed in for calls younger than `localDays` (and calls the locator does not know),
   * every tier named once (see {@link checkTierOrder}). Default `['local', 'archive', 'peers']`. In a cluster
   * where a recent call may still be on another node's disk, `['local', 'peers', 'archive']` spares the S3
   * probe before the peer.
   */
  tierOrder?: readonly TierName[];
  /**
   * The order for calls older than `localDays`. Default: `archive` first, then the others as in `tierOrder`
   * (`['archive', 'local', 'peers']` when neither is given).
   */
  oldCallTierOrder?: readonly TierName[];
  /** Where recordings were last seen; consulted first and kept up to date. Optional. */
  index?: LocationIndex;
  /** This instance's id in the index. Default the host name. */
  instanceId?: string;
  /** Answer archive hits with a presigned URL (the archive backend must have `presignGet`). */
  presign?: { expiresInSeconds?: number };
  /** IANA time zone for the date tokens of key templates (FusionPBX uses the switch's local time). Default UTC. */
  timeZone?: string;
  /**
   * How long a found recording is remembered, so that the requests of one playback (a player seeking sends a
   * `Range` request per seek) cost no locator query, index lookup or tier probe after the first. Default 0
   * (off: every `resolve` looks); `createStorage` sets 30 000. Misses are never remembered (a recording may
   * appear once its call ends), nor answers with a presigned URL. A remembered location that proves wrong (the
   * archiver moved the file) is dropped by {@link TieredRecordingResolver.invalidate}, which the recordings
   * handler calls before it resolves again.
   */
  cacheTtlMs?: number;
  /** Most recordings remembered at once (the oldest go first). Default 1000. */
  cacheEntries?: number;
  /** Clock (tests). */
  now?: () => Date;
  logger?: Logger;
  registry?: Registry;
}

interface Tier {
  name: string;
  instanceId: string;
  backend: StorageBackend;
  key: KeyTemplate;
}

const DAY_MS = 86_400_000;

/**
 * Finds a call's recording across tiers: this instance's disk, the S3 archive, and peers.
 *
 * The order depends on the call's start time (from the CDR, never the file's mtime): younger than `localDays`
 * → `tierOrder` (default local, archive, peers), older → `oldCallTierOrder` (default archive first), before
 * giving up (`undefined`, i.e. 404). The location index, when given, is consulted first; an index entry that proves wrong is forgotten,
 * and a hit found by probing is recorded, so resolution works with a missing or stale index. If the locator
 * (the CDR store), the index or some tier could not be asked and none had the recording, it throws
 * `StorageUnavailableError` (503) rather than claim a 404: a lookup that failed is not one that found nothing.
 * Locator and index failures are logged and counted in `pbxkit_storage_resolver_lookup_failures_total{source}`.
 *
 * When the locator gives the call's `path` (FusionPBX's `record_path`) and it is the local backend's root or a
 * directory under it, the local key is that directory and `name`, instead of the local key template.
 *
 * @example
 * ```ts
 * const resolver = new TieredRecordingResolver({
 *   locator: { locate: (uuid) => cdrStore.recordingOf(uuid) },   // wired by the application
 *   local: { backend: new LocalFsBackend({ root: '/var/lib/freeswitch/recordings' }) },
 *   archive: { backend: s3, key: '{domain}/{YYYY}/{MM}/{DD}/{name}' },
 *   localDays: 5,
 * });
 * const handler = createRecordingsHandler({ source: resolver });
 * ```
 */
export class TieredRecordingResolver implements RecordingSource {
  private readonly options: TieredRecordingResolverOptions;
  private readonly local: Tier | undefined;
  private readonly archive: Tier | undefined;
  private readonly peers: Tier[];
  private readonly recentOrder: TierName[];
  private readonly oldOrder: TierName[];
  private readonly instanceId: string;
  private readonly log: Logger;
  private readonly resolutions;
  private readonly lookupFailures;
  /** uuid → where it was found and until when that is trusted; in insertion order, oldest first. */
  private readonly remembered = new Map<string, { found: ResolvedRecording; until: number }>();

  constructor(options: TieredRecordingResolverOptions) {
    this.options = options;
    this.instanceId = options.instanceId ?? hostname();
    const tier = (name: string, instanceId: string, t: TierOptions): Tier => ({
      name,
      instanceId,
      backend: t.backend,
      key: t.key ?? FUSIONPBX_KEY_TEMPLATE,
    });
    this.local = options.local ? tier('local', this.instanceId, options.local) : undefined;
    this.archive = options.archive ? tier('archive', '', options.archive) : undefined;
    this.peers = (options.peers ?? []).map((p) => tier('local', p.instanceId, p));
    this.recentOrder = checkTierOrder(options.tierOrder ?? ['local', 'archive', 'peers'], 'tierOrder');
    this.oldOrder = options.oldCallTierOrder
      ? checkTierOrder(options.oldCallTierOrder, 'oldCallTierOrder')
      : ['archive', ...this.recentOrder.filter((n) => n !== 'archive')];
    this.log = resolveLogger(options.logger, { component: 'storage-resolver' });
    this.resolutions = new MetricsFactory('storage', options.registry).counter({
      what: 'resolutions',
      unit: 'total',
      help: 'Recording resolutions, by the tier that had it (or none) and whether the index knew',
      labelNames: ['tier', 'via'],
    });
    this.lookupFailures = new MetricsFactory('storage', options.registry).counter({
      what: 'resolver_lookup_failures',
      unit: 'total',
      help: 'Recording lookups the CDR store (locator) or the location index could not answer, by source',
      labelNames: ['source'],
    });
  }

  /** Finds the recording of call `uuid`; `undefined` when no tier has it. */
  async resolve(
    uuid: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<ResolvedRecording | undefined> {
    const clock = (this.options.now ?? (() => new Date()))().getTime();
    const hit = this.remembered.get(uuid);
    if (hit && hit.until > clock) {
      this.resolutions.inc({ tier: hit.found.tier ?? 'unknown', via: 'cache' });
      return hit.found;
    }
    this.remembered.delete(uuid);
    const found = await this.lookUp(uuid, options);
    const ttl = this.options.cacheTtlMs ?? 0;
    if (found && !found.url && ttl > 0) {
      this.remembered.set(uuid, { found, until: clock + ttl });
      const limit = this.options.cacheEntries ?? 1000;
      for (const oldest of this.remembered.keys()) {
        if (this.remembered.size <= limit) break;
        this.remembered.delete(oldest);
      }
    }
    return found;
  }

  /**
   * The key this instance's local tier keeps `ref`'s recording under: FusionPBX's `record_path` under the local
   * root with `name`, else the local key template; undefined without a local tier, or when the template cannot be
   * rendered (no call start). For recording in a location index where a call's recording is as soon as its CDR
   * arrives, so that it is found by uuid after the CDR itself was purged.
   */
  localKey(ref: RecordingRef): string | undefined {
    return this.local ? this.keyFor(this.local, ref) : undefined;
  }

  /** Forgets where call `uuid`'s recording was found: the next {@link resolve} looks again. */
  invalidate(uuid: string): void {
    this.remembered.delete(uuid);
  }

  private async lookUp(
    uuid: string,
    options: { signal?: AbortSignal },
  ): Promise<ResolvedRecording | undefined> {
    // Whatever could not be asked (the locator, the index, a tier): if nothing had the recording, that is a 503,
    // not a 404, because what could not answer may well know it.
    const unavailable: string[] = [];
    let ref: RecordingRef | undefined;
    if (this.options.locator) {
      try {
        ref = await this.options.locator.locate(uuid, options);
      } catch (err) {
        this.lookupFailures.inc({ source: 'locator' });
        unavailable.push('locator');
        this.log.warn(
          { err, uuid },
          'recording locator failed: trying the index and key templates without it',
        );
      }
    }
    ref ??= { uuid };
    const tried = new Set<string>();

    // 1. The index.
    const entries = await this.lookupIndex(uuid, unavailable);
    for (const entry of entries) {
      const tier = this.tierOf(entry);
      if (!tier) continue;
      tried.add(`${tier.name}\u0000${tier.instanceId}\u0000${entry.key}`);
      const info = await this.probe(tier, entry.key, unavailable);
      if (info) {
        this.resolutions.inc({ tier: tierLabel(tier), via: 'index' });
        return this.answer(tier, entry.key, info);
      }
      if (info === null) await this.forget(entry);
    }

    // 2. Probe the tiers in age order.
    for (const tier of this.order(ref)) {
      const key = this.keyFor(tier, ref);
      if (!key || tried.has(`${tier.name}\u0000${tier.instanceId}\u0000${key}`)) continue;
      const info = await this.probe(tier, key, unavailable);
      if (info) {
        this.resolutions.inc({ tier: tierLabel(tier), via: 'probe' });
        await this.remember(tier, key, ref, info);
        return this.answer(tier, key, info);
      }
    }
    this.resolutions.inc({ tier: 'none', via: 'probe' });
    if (unavailable.length > 0) {
      const names = unavailable.map((u) => (u === 'locator' ? 'the locator (CDR store)' : u)).join(', ');
      throw new StorageUnavailableError(
        'resolver',
        `recording of call ${uuid} not found, but ${names} could not be asked: it may exist, try again later`,
      );
    }
    return undefined;
  }

  /** The tiers in the order they are tried for `ref` (by call age: `tierOrder` or `oldCallTierOrder`). */
  order(ref: RecordingRef): Tier[] {
    const localDays = this.options.localDays ?? 5;
    const now = (this.options.now ?? (() => new Date()))().getTime();
    const old = ref.callStart !== undefined && now - ref.callStart.getTime() >= localDays * DAY_MS;
    return (old ? this.oldOrder : this.recentOrder).flatMap((name) => {
      if (name === 'peers') return this.peers;
      const t = name === 'local' ? this.local : this.archive;
      return t ? [t] : [];
    });
  }

  private keyFor(tier: Tier, ref: RecordingRef): string | undefined {
    // The path the switch wrote, when it is this instance's LocalFsBackend root or lies under it, is the surest
    // key. The root itself is FreeSWITCH's default recordings_dir, where FusionPBX may store a file directly.
    const root = (tier.backend as Partial<LocalFsBackend>).root;
    if (tier === this.local && ref.path && isAbsolute(ref.path) && typeof root === 'string') {
      const rel = relative(root, ref.path);
      if (!rel.startsWith('..') && !isAbsolute(rel)) {
        const dirs = rel === '' ? [] : rel.split(sep);
        return [...dirs, ref.name ?? `${ref.uuid}.wav`].join('/');
      }
    }
    try {
      return renderKey(tier.key, ref, this.options.timeZone);
    } catch (err) {
      this.log.warn({ err, tier: tier.name }, 'key template failed');
      return undefined;
    }
  }

  /** The object's info; `null` when it is not there; `undefined` when the tier could not tell. */
  private async probe(
    tier: Tier,
    key: string,
    unavailable: string[],
  ): Promise<ObjectInfo | null | undefined> {
    try {
      return await tier.backend.stat(key);
    } catch (err) {
      if (err instanceof StorageNotFoundError) return null;
      if (err instanceof StorageError && err.code === 'STORAGE_INVALID_KEY') return null;
      this.log.warn({ err, tier: tier.backend.name, key }, 'tier unavailable while resolving');
      unavailable.push(tier.backend.name);
      return undefined;
    }
  }

  private async answer(tier: Tier, key: string, info: ObjectInfo): Promise<ResolvedRecording> {
    const found: ResolvedRecording = { backend: tier.backend, key, info, tier: tier.backend.name };
    const presigner = tier.backend as Partial<{ presignGet(key: string, o: object): Promise<string> }>;
    if (this.options.presign && tier === this.archive && typeof presigner.presignGet === 'function') {
      found.url = await presigner.presignGet(key, {
        expiresInSeconds: this.options.presign.expiresInSeconds,
      });
    }
    return found;
  }

  private tierOf(entry: LocationEntry): Tier | undefined {
    if (entry.tier === 'archive') return this.archive;
    if (entry.tier === 'local' && entry.instanceId === this.instanceId) return this.local;
    return this.peers.find((p) => p.instanceId === entry.instanceId);
  }

  private async lookupIndex(uuid: string, unavailable: string[]): Promise<LocationEntry[]> {
    if (!this.options.index) return [];
    try {
      const entries = await this.options.index.lookup(uuid);
      // This instance's own copy first, then the archive, then peers.
      const rank = (e: LocationEntry) =>
        e.tier === 'local' && e.instanceId === this.instanceId ? 0 : e.tier === 'archive' ? 1 : 2;
      return entries.sort((a, b) => rank(a) - rank(b));
    } catch (err) {
      this.lookupFailures.inc({ source: 'index' });
      unavailable.push('index');
      this.log.warn({ err, uuid }, 'location index unavailable: probing the tiers');
      return [];
    }
  }

  private async forget(entry: LocationEntry): Promise<void> {
    try {
      await this.options.index?.forget(entry.uuid, entry.tier, entry.instanceId);
    } catch (err) {
      this.log.warn({ err, uuid: entry.uuid }, 'could not forget a stale index entry');
    }
  }

  private async remember(tier: Tier, key: string, ref: RecordingRef, info: ObjectInfo): Promise<void> {
    if (!this.options.index) return;
    try {
      const entry: LocationEntry = {
        uuid: ref.uuid,
        tier: tier.name,
        instanceId: tier.instanceId,
        key,
        size: info.size,
      };
      if (ref.callStart) entry.callStart = ref.callStart;
      await this.options.index.record(entry);
    } catch (err) {
      this.log.warn({ err, uuid: ref.uuid }, 'could not record a location in the index');
    }
  }
}

function tierLabel(tier: Tier): string {
  return tier.backend.name;
}

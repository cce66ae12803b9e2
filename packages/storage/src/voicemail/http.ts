import { type Logger, resolveLogger } from '@pbxkit/core';
import type { StorageBackend } from '../backend.js';
import { isNotFound, StorageError, StorageUnavailableError } from '../errors.js';
import {
  createRecordingsHandler,
  type RecordingsHandler,
  type RecordingsHandlerOptions,
} from '../http/handler.js';
import { type RecordingLinkOptions, signResourceUrl } from '../http/links.js';
import type { RecordingSource, ResolvedRecording } from '../recording.js';
import { MESSAGE_UUID_RE, type VoicemailIndex } from './vm-index.js';

const SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,254}$/;

/** A message's id in voicemail paths: `<domain>/<user>/<uuid>`, each part checked. */
export function parseVoicemailId(rest: string): { domain: string; user: string; uuid: string } | undefined {
  const parts = rest.split('/').map((p) => decodeURIComponent(p));
  if (parts.length !== 3) return undefined;
  const [domain, user, uuid] = parts as [string, string, string];
  if (!SEGMENT_RE.test(domain) || !SEGMENT_RE.test(user) || !MESSAGE_UUID_RE.test(uuid)) return undefined;
  return { domain, user, uuid };
}

/** Options of {@link VoicemailSource}. */
export interface VoicemailSourceOptions {
  /** The voicemail database: says which file a message is, and that it belongs to the mailbox asked for. */
  index: VoicemailIndex;
  /** This node's voicemail tree (`<storage_dir>/voicemail`), when it runs beside a switch. */
  local?: StorageBackend;
  /** Other nodes' voicemail trees (`PeerProxyBackend`s to their voicemail peer handlers), in order. */
  peers?: StorageBackend[];
  /** The shared tier the agents upload to (`S3Backend`). */
  shared?: StorageBackend;
  logger?: Logger;
}

/**
 * Finds a voicemail message's file by `<domain>/<user>/<uuid>`: the index gives its key (and proves it is that
 * mailbox's), then this node's disk, the peers and the shared tier are asked in that order. A message the index
 * does not know, or knows in another mailbox, is not found; an index or tier that could not be asked, with no
 * tier having the file, is `StorageUnavailableError` (503), never a 404.
 */
export class VoicemailSource implements RecordingSource {
  private readonly tiers: StorageBackend[];
  private readonly log: Logger;

  constructor(private readonly options: VoicemailSourceOptions) {
    this.tiers = [
      ...(options.local ? [options.local] : []),
      ...(options.peers ?? []),
      ...(options.shared ? [options.shared] : []),
    ];
    this.log = resolveLogger(options.logger, { component: 'voicemail-source' });
  }

  async resolve(id: string): Promise<ResolvedRecording | undefined> {
    const wanted = parseVoicemailId(id.split('/').map(encodeURIComponent).join('/'));
    if (!wanted) return undefined;
    let message: Awaited<ReturnType<VoicemailIndex['get']>>;
    try {
      message = await this.options.index.get(wanted.uuid);
    } catch (err) {
      this.log.warn({ err, uuid: wanted.uuid }, 'voicemail index unavailable');
      throw new StorageUnavailableError('voicemail-index', 'the voicemail database could not be asked', {
        cause: err,
      });
    }
    if (!message?.key || message.domain !== wanted.domain || message.user !== wanted.user) return undefined;
    const unavailable: string[] = [];
    for (const backend of this.tiers) {
      try {
        const info = await backend.stat(message.key);
        return { backend, key: message.key, info, tier: backend.name };
      } catch (err) {
        if (isNotFound(err) || (err instanceof StorageError && err.code === 'STORAGE_INVALID_KEY')) continue;
        this.log.warn(
          { err, tier: backend.name, key: message.key },
          'tier unavailable while resolving voicemail',
        );
        unavailable.push(backend.name);
      }
    }
    if (unavailable.length > 0) {
      throw new StorageUnavailableError(
        'voicemail',
        `message ${wanted.uuid} not found, but ${unavailable.join(', ')} could not be asked: try again later`,
      );
    }
    return undefined;
  }
}

/** Options of {@link createVoicemailHandler}: those of the recordings handler, with a voicemail source. */
export interface VoicemailHandlerOptions
  extends Omit<RecordingsHandlerOptions, 'source' | 'ids' | 'authorize'>,
    VoicemailSourceOptions {
  /** Default `/voicemail`. */
  basePath?: string;
  /**
   * Decides whether this request may have this message; `id` is `<domain>/<user>/<uuid>`. `authorizeRecordings(auth)`
   * works as for recordings: operators' tokens or Basic users, or a signed link to exactly this path.
   */
  authorize?: RecordingsHandlerOptions['authorize'];
}

/**
 * `GET|HEAD {basePath}/<domain>/<user>/<uuid>`: a voicemail message, with everything the recordings handler
 * does (Range, ETag, `?download=1`, signed links at `…/link`, 404/503 told apart, a promise that never
 * rejects), resolved through {@link VoicemailSource}.
 *
 * @example
 * ```ts
 * const handler = createVoicemailHandler({ index, local, shared: s3, authorize: authorizeRecordings(auth) });
 * http.createServer((req, res) => void handler(req, res));
 * ```
 */
export function createVoicemailHandler(options: VoicemailHandlerOptions): RecordingsHandler {
  const source = new VoicemailSource(options);
  return createRecordingsHandler({
    ...options,
    basePath: options.basePath ?? '/voicemail',
    source,
    ids: {
      noun: 'voicemail message',
      parse: (rest) => {
        const id = parseVoicemailId(rest);
        return id && `${id.domain}/${id.user}/${id.uuid}`;
      },
      path: (id) => id.split('/').map(encodeURIComponent).join('/'),
    },
  });
}

/** Options of {@link signVoicemailUrl}: those of recording links; `basePath` defaults to `/voicemail`. */
export type VoicemailLinkOptions = RecordingLinkOptions;

/**
 * A signed, expiring link to one voicemail message (`/voicemail/<domain>/<user>/<uuid>?expires=…&sig=…`), for
 * the self-service portal to hand to a browser. Throws `TypeError` for ids the handler would not serve.
 */
export function signVoicemailUrl(
  message: { domain: string; user: string; uuid: string },
  options: VoicemailLinkOptions,
): string {
  const rest = [message.domain, message.user, message.uuid].map(encodeURIComponent).join('/');
  if (!parseVoicemailId(rest)) throw new TypeError(`not a voicemail message id: ${JSON.stringify(message)}`);
  return signResourceUrl(rest, options, '/voicemail');
}

/**
 * `vm::maintenance` CUSTOM events of FreeSWITCH's mod_voicemail, sans I/O: the agent gets them through a
 * {@link VoicemailEventSource}, which the application wires to its event socket (see
 * {@link voicemailEventsFromEsl} for `@pbxkit/esl`).
 *
 * Shapes as FreeSWITCH 1.10 fires them (mod_voicemail.c): `leave-message` carries `VM-File-Path` and `VM-UUID`
 * (the message uuid, which differs from the uuid in the file name); `mwi-update` only the mailbox, and it is
 * the only event a deletion (`vm_delete`, the menu's purge) or a read/save fires; `record-greeting` and
 * `change-greeting` carry `VM-Greeting-Path`, `record-name` `VM-Name-Path`, `remove-greeting` nothing but the
 * mailbox; `authentication` fires when a caller logs in to a mailbox.
 */
export type VoicemailEvent =
  | {
      action: 'leave-message';
      user: string;
      domain: string;
      /** The message uuid (`VM-UUID`, the `voicemail_msgs.uuid` of its row). */
      uuid: string;
      /** Absolute path of the file as the switch wrote it. */
      filePath: string;
      folder: string;
      callerName: string;
      callerNumber: string;
      lengthSeconds: number;
      /** `VM-Timestamp`, the row's `created_epoch`. */
      createdAt: Date;
    }
  | {
      action: 'record-greeting' | 'change-greeting' | 'record-name';
      user: string;
      domain: string;
      /** `VM-Greeting-Path` or `VM-Name-Path`. */
      filePath: string;
    }
  | {
      action: 'mwi-update' | 'remove-greeting' | 'authentication' | 'change-password' | 'folder-summary';
      user: string;
      domain: string;
    };

/** The events an agent acts on, from wherever they come (an ESL connection, a queue, a test). */
export interface VoicemailEventSource {
  /** Starts calling `listener` with each `vm::maintenance` event; returns a function that stops. */
  subscribe(listener: (event: VoicemailEvent) => void): () => void;
}

const WITH_PATH = new Set(['record-greeting', 'change-greeting', 'record-name']);
const MAILBOX_ONLY = new Set([
  'mwi-update',
  'remove-greeting',
  'authentication',
  'change-password',
  'folder-summary',
]);

/**
 * Reads one event's headers (decoded, as `EslEvent.headers` gives them); `undefined` for events that are not
 * `vm::maintenance`, actions the agent does not use, or a `leave-message` without its path or uuid.
 */
export function parseVoicemailEvent(headers: Record<string, string | undefined>): VoicemailEvent | undefined {
  if (headers['Event-Subclass'] !== 'vm::maintenance') return undefined;
  const action = headers['VM-Action'] ?? '';
  const user = headers['VM-User'] ?? '';
  const domain = headers['VM-Domain'] ?? '';
  if (!user || !domain) return undefined;
  if (action === 'leave-message') {
    const uuid = headers['VM-UUID'] ?? '';
    const filePath = headers['VM-File-Path'] ?? '';
    if (!uuid || !filePath) return undefined;
    const epoch = Number(headers['VM-Timestamp']);
    return {
      action,
      user,
      domain,
      uuid,
      filePath,
      folder: headers['VM-Folder'] || 'inbox',
      callerName: headers['VM-Caller-ID-Name'] ?? '',
      callerNumber: headers['VM-Caller-ID-Number'] ?? '',
      lengthSeconds: Number(headers['VM-Message-Len']) || 0,
      createdAt: new Date(Number.isFinite(epoch) && epoch > 0 ? epoch * 1000 : Date.now()),
    };
  }
  if (WITH_PATH.has(action)) {
    const filePath = headers[action === 'record-name' ? 'VM-Name-Path' : 'VM-Greeting-Path'] ?? '';
    if (!filePath) return undefined;
    return { action: action as 'record-greeting', user, domain, filePath };
  }
  if (MAILBOX_ONLY.has(action)) return { action: action as 'mwi-update', user, domain };
  return undefined;
}

/** The part of an `EslClient` (`@pbxkit/esl`) that {@link voicemailEventsFromEsl} uses. */
export interface EslEventEmitterLike {
  subscribe(events: string[]): Promise<void>;
  on(event: 'event', listener: (event: { headers: Record<string, string> }) => void): unknown;
  off(event: 'event', listener: (event: { headers: Record<string, string> }) => void): unknown;
}

/**
 * A {@link VoicemailEventSource} on an ESL client: subscribes to `CUSTOM vm::maintenance` (nothing else: every
 * word after `CUSTOM` is a subclass) and hands each parsed event on. A failed subscription goes to `onError`;
 * the agent's periodic reconcile covers what is missed meanwhile.
 */
export function voicemailEventsFromEsl(
  client: EslEventEmitterLike,
  onError: (err: unknown) => void = () => {},
): VoicemailEventSource {
  return {
    subscribe(listener) {
      const onEvent = (event: { headers: Record<string, string> }): void => {
        const parsed = parseVoicemailEvent(event.headers);
        if (parsed) listener(parsed);
      };
      client.on('event', onEvent);
      client.subscribe(['CUSTOM', 'vm::maintenance']).catch(onError);
      return () => {
        client.off('event', onEvent);
      };
    },
  };
}

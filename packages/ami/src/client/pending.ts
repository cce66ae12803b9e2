import { AmiActionError, AmiProtocolError, AmiTimeoutError } from '../errors.js';
import type { AmiMessage } from '../protocol/message.js';

/** The outcome of an event-list action (`CoreShowChannels`, `Status`, `QueueStatus`, ...). */
export interface AmiListResult {
  /** The first response (`EventList: start`). */
  response: AmiMessage;
  /** The list items, in order, without the final `...Complete` event. */
  events: AmiMessage[];
  /** The `...Complete` event carrying `ListItems`; `undefined` when the action answered without a list. */
  complete: AmiMessage | undefined;
}

/** The outcome of an asynchronous `Originate`. */
export interface AmiOriginateResult {
  /** `Response: Success` / `Message: Originate successfully queued`. */
  response: AmiMessage;
  /**
   * The `OriginateResponse` event (`Response: Success`, `Channel`, `Uniqueid`...). `undefined` when the call's
   * outcome is not known: not async, or a connection that receives no call events (Asterisk then sends it
   * no `OriginateResponse`), or `waitForEvent: false`.
   */
  event: AmiMessage | undefined;
}

/** How the response to an action is awaited. */
export type PendingKind = 'single' | 'list' | 'originate';

/** An action written and not yet answered. */
export interface PendingAction {
  readonly id: string;
  readonly action: string;
  readonly kind: PendingKind;
  readonly startedAt: number;
  readonly timeoutMs: number;
  /** `performance.now()` past which it times out; infinite without a timeout. */
  readonly deadline: number;
  response?: AmiMessage;
  events?: AmiMessage[];
  /** An async originate that resolves on its response: its `OriginateResponse` can no longer arrive. */
  withoutEvent?: boolean;
  settle(err: Error | undefined, value?: AmiMessage | AmiListResult | AmiOriginateResult): void;
}

/** What to tell the owner when an action completes. */
export type SettledHook = (
  action: PendingAction,
  result: 'success' | 'error' | 'timeout' | 'disconnected',
) => void;

const ORIGINATE_FAILURE: Record<string, string> = {
  '0': 'no such extension or number, or channel driver failure',
  '1': 'hung up before answer',
  '3': 'no answer (ring timeout)',
  '5': 'busy',
  '8': 'congestion or not available',
};

/**
 * The actions in flight on one client, keyed by ActionID, and the rules that complete them from responses
 * and list events. Knows nothing of sockets.
 */
export class PendingActions {
  private readonly byId = new Map<string, PendingAction>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(private readonly onSettled: SettledHook) {}

  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /**
   * True while an action still waits for Asterisk's answer (a response, or the rest of its list) and has not
   * timed out. Asterisk runs one session's actions one after the other, so a keepalive `Ping` sent now would
   * queue behind it. An async `Originate` whose response came is not waiting on the session any more.
   */
  awaitingAnswer(): boolean {
    for (const pending of this.byId.values()) {
      if (pending.kind !== 'originate' || !pending.response) return true;
    }
    return false;
  }

  /**
   * Registers an action and returns the promise of its outcome. Its deadline starts now; past it the action
   * is forgotten (a late answer is then treated as unsolicited) and the promise rejects with
   * {@link AmiTimeoutError}.
   */
  add<T>(id: string, action: string, kind: PendingKind, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const startedAt = performance.now();
      const pending: PendingAction = {
        id,
        action,
        kind,
        startedAt,
        timeoutMs,
        deadline:
          timeoutMs > 0 && Number.isFinite(timeoutMs) ? startedAt + timeoutMs : Number.POSITIVE_INFINITY,
        settle: (err, value) => {
          this.byId.delete(id);
          if (err) reject(err);
          else resolve(value as T);
        },
      };
      this.byId.set(id, pending);
      if (pending.deadline < this.timerAt) this.armTimer(pending.deadline);
    });
  }

  // One timer for all actions, set for the earliest deadline, instead of a timer per action: with thousands
  // of actions a second, creating and clearing timers is a visible share of the work.
  private armTimer(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.sweep(), Math.max(0, at - performance.now()));
    this.timer.unref?.();
  }

  private sweep(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    // Node may fire a timer a fraction of a millisecond early by this clock.
    const now = performance.now() + 1;
    let next = Number.POSITIVE_INFINITY;
    for (const pending of [...this.byId.values()]) {
      if (pending.deadline <= now) {
        const { action, id, timeoutMs } = pending;
        const err = new AmiTimeoutError(
          `${action} (ActionID ${id}) got no answer in ${timeoutMs} ms`,
          timeoutMs,
        );
        this.finish(pending, err, undefined, 'timeout');
      } else if (pending.deadline < next) {
        next = pending.deadline;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.armTimer(next);
  }

  /** Routes a `Response:` message. Returns false when no action waits for it. */
  onResponse(message: AmiMessage): boolean {
    const id = message.actionId;
    const pending = id === undefined ? undefined : this.byId.get(id);
    if (!pending) return false;
    if (message.name.toLowerCase() === 'error') {
      this.finish(pending, new AmiActionError(pending.action, message), undefined, 'error');
      return true;
    }
    if (pending.kind === 'single') {
      this.finish(pending, undefined, message, 'success');
    } else if (pending.kind === 'list') {
      if (message.get('EventList')?.toLowerCase() === 'start') {
        pending.response = message;
        pending.events = [];
      } else {
        this.finish(pending, undefined, { response: message, events: [], complete: undefined }, 'success');
      }
    } else {
      pending.response = message;
      // An OriginateResponse that overtook its response (never seen, but cheap to allow) completes it now.
      const early = pending.events?.[0];
      if (early) this.finishOriginate(pending, early);
      else if (pending.withoutEvent)
        this.finish(pending, undefined, { response: message, event: undefined }, 'success');
    }
    return true;
  }

  /**
   * Routes an event carrying an ActionID: a list item, the end of a list, or the `OriginateResponse` of an
   * async originate. Returns true when the event belonged to a list (and so is not a broadcast event).
   */
  onEvent(message: AmiMessage): boolean {
    const id = message.actionId;
    const pending = id === undefined ? undefined : this.byId.get(id);
    if (!pending) return false;
    if (pending.kind === 'originate') {
      if (message.name !== 'OriginateResponse') return false;
      if (pending.response) this.finishOriginate(pending, message);
      else pending.events = [message];
      return false;
    }
    if (!pending.response) return false;
    if (pending.kind !== 'list' || !pending.events) return false;
    const flag = message.get('EventList')?.toLowerCase();
    if (flag === 'complete' || (flag === undefined && message.name.endsWith('Complete'))) {
      this.finishList(pending, message);
    } else if (flag === 'cancelled') {
      this.finish(
        pending,
        new AmiActionError(pending.action, message, 'event list cancelled'),
        undefined,
        'error',
      );
    } else {
      pending.events.push(message);
    }
    return true;
  }

  /**
   * The connection stopped receiving call events (an `Events` action took them away): async originates in
   * flight resolve on their response, with no event, instead of waiting for one that cannot come.
   */
  releaseOriginates(): void {
    for (const pending of [...this.byId.values()]) {
      if (pending.kind !== 'originate') continue;
      pending.withoutEvent = true;
      const response = pending.response;
      if (response) this.finish(pending, undefined, { response, event: undefined }, 'success');
    }
  }

  /** Rejects every action in flight with `err` (the connection is gone). */
  rejectAll(err: Error): void {
    for (const pending of [...this.byId.values()]) this.finish(pending, err, undefined, 'disconnected');
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private finishList(pending: PendingAction, complete: AmiMessage): void {
    const events = pending.events ?? [];
    const announced = complete.get('ListItems');
    if (announced !== undefined && Number(announced) !== events.length) {
      const err = new AmiProtocolError(
        `${pending.action} announced ListItems: ${announced} but ${events.length} items arrived`,
        'AMI_LIST_MISMATCH',
      );
      this.finish(pending, err, undefined, 'error');
      return;
    }
    this.finish(
      pending,
      undefined,
      { response: pending.response as AmiMessage, events, complete },
      'success',
    );
  }

  private finishOriginate(pending: PendingAction, event: AmiMessage): void {
    const status = event.get('Response') ?? '';
    if (status.toLowerCase() !== 'success') {
      const reason = event.get('Reason') ?? '';
      const why = ORIGINATE_FAILURE[reason] ?? 'failed';
      this.finish(
        pending,
        new AmiActionError('Originate', event, `call ${why} (Reason ${reason})`),
        undefined,
        'error',
      );
      return;
    }
    this.finish(pending, undefined, { response: pending.response as AmiMessage, event }, 'success');
  }

  private finish(
    pending: PendingAction,
    err: Error | undefined,
    value: AmiMessage | AmiListResult | AmiOriginateResult | undefined,
    result: 'success' | 'error' | 'timeout' | 'disconnected',
  ): void {
    if (!this.byId.has(pending.id)) return;
    pending.settle(err, value);
    this.onSettled(pending, result);
  }
}

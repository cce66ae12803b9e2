/** Liveness check of a long-lived protocol connection (`keepalive` of the ESL and AMI clients). */
export interface KeepaliveOptions {
  /** How often the connection is looked at, in ms. Default 30 000. */
  intervalMs?: number;
  /** How long a probe may go without any byte coming back before the connection is dropped, in ms. Default 10 000. */
  timeoutMs?: number;
}

/** The defaults of {@link KeepaliveOptions}, shared by every client. */
export const DEFAULT_KEEPALIVE: Required<KeepaliveOptions> = { intervalMs: 30_000, timeoutMs: 10_000 };

/** `true`/`undefined` → the defaults, `false` or a zero interval → off, an object → merged with the defaults. */
export function resolveKeepalive(
  option: boolean | KeepaliveOptions | undefined,
): Required<KeepaliveOptions> | undefined {
  if (option === false) return undefined;
  const settings = { ...DEFAULT_KEEPALIVE, ...(option === true || option === undefined ? {} : option) };
  return settings.intervalMs > 0 ? settings : undefined;
}

/** What a {@link LivenessMonitor} asks of the connection it watches. */
export interface LivenessHooks {
  /**
   * True while the server owes a reply to a command sent earlier and not yet given up on (its own timeout
   * has not passed). PBX servers answer one connection's commands in order, so a probe sent now would queue
   * behind that command and its silence would say nothing about the server: the monitor waits instead.
   */
  busy(): boolean;
  /** Sends the probe (`api status`, `Ping`); its reply is noticed through {@link LivenessMonitor.activity}. */
  probe(): void;
  /** Nothing came back within `timeoutMs` of a probe: drop the connection. */
  dead(silentMs: number): void;
}

/**
 * Judges a connection alive by the bytes it receives, not by the reply to one particular command: every
 * `intervalMs`, a connection that received anything since the last look is alive; a silent one that owes no
 * reply gets a probe, and is dead when still nothing at all arrived `timeoutMs` later. A silent connection
 * that owes a reply (a slow `api originate`, a synchronous `Originate` ringing) is left alone: the command's
 * own timeout bounds it, and TCP keepalive covers a peer that vanished meanwhile.
 *
 * {@link activity} is on the data path: it sets one flag.
 */
export class LivenessMonitor {
  private heard = false;
  private interval: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: Required<KeepaliveOptions>,
    private readonly hooks: LivenessHooks,
  ) {}

  /** Starts looking (every `intervalMs`). Timers are unref'd: they never keep the process alive. */
  start(): void {
    this.stop();
    this.heard = false;
    this.interval = setInterval(() => this.look(), this.settings.intervalMs);
    this.interval.unref?.();
  }

  /** Stops every timer (the connection closed). */
  stop(): void {
    if (this.interval) clearInterval(this.interval);
    if (this.deadline) clearTimeout(this.deadline);
    this.interval = undefined;
    this.deadline = undefined;
  }

  /** Bytes arrived: the server is alive. */
  activity(): void {
    this.heard = true;
  }

  private look(): void {
    if (this.deadline) return;
    if (this.heard) {
      this.heard = false;
      return;
    }
    if (this.hooks.busy()) return;
    this.hooks.probe();
    this.deadline = setTimeout(() => {
      this.deadline = undefined;
      if (this.heard) return;
      this.hooks.dead(this.settings.timeoutMs);
    }, this.settings.timeoutMs);
    this.deadline.unref?.();
  }
}

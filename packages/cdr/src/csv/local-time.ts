import { CdrCsvTemplateError } from './template.js';

const STAMP = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/;

/**
 * Converts FreeSWITCH's `*_stamp` text (`2026-12-02 06:43:16`, the node's local time, no zone) to epoch seconds
 * in an IANA time zone. Offsets are cached per hour of wall time, so a million stamps cost a million cache
 * lookups and only a few `Intl` calls. In the hour a clock goes back, the earlier of the two instants is taken.
 */
export class LocalTimeZone {
  private readonly offsets = new Map<string, number>();
  private readonly format: Intl.DateTimeFormat;

  /** @throws {CdrCsvTemplateError} when `zone` is not a time zone Node knows. */
  constructor(readonly zone: string) {
    try {
      this.format = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      throw new CdrCsvTemplateError(
        `unknown time zone ${JSON.stringify(zone)} (an IANA name such as Europe/Berlin)`,
      );
    }
  }

  /** Epoch seconds of a stamp, or undefined when the text is empty or not a `YYYY-MM-DD HH:MM:SS` stamp. */
  toEpoch(stamp: string): number | undefined {
    const m = STAMP.exec(stamp);
    if (!m) return undefined;
    const wall = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) / 1000;
    const key = stamp.slice(0, 13);
    let offset = this.offsets.get(key);
    if (offset === undefined) {
      offset = this.offsetAt(wall);
      this.offsets.set(key, offset);
    }
    return wall - offset;
  }

  /** Seconds the zone is ahead of UTC at the instant whose wall-clock reading is `wall`. */
  private offsetAt(wall: number): number {
    // Two rounds: the offset at the guess, then at the instant that offset gives (right across a change).
    let offset = this.offsetOfInstant(wall);
    offset = this.offsetOfInstant(wall - offset);
    return offset;
  }

  private offsetOfInstant(epoch: number): number {
    const parts: Record<string, number> = {};
    for (const p of this.format.formatToParts(new Date(epoch * 1000))) {
      if (p.type !== 'literal') parts[p.type] = Number(p.value);
    }
    const asUtc =
      Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) / 1000;
    return asUtc - epoch;
  }
}

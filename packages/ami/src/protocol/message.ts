/** What a message is, decided by its first line. */
export type AmiMessageType = 'response' | 'event' | 'unknown';

function typeOf(firstKey: string): AmiMessageType {
  // Exact spellings first: they are what Asterisk sends, and need no lower-cased copy.
  if (firstKey === 'Event') return 'event';
  if (firstKey === 'Response') return 'response';
  if (firstKey.length === 5 && firstKey.toLowerCase() === 'event') return 'event';
  if (firstKey.length === 8 && firstKey.toLowerCase() === 'response') return 'response';
  return 'unknown';
}

/**
 * One AMI message: the ordered `Key: value` lines Asterisk sent up to the blank line.
 *
 * Keys keep the case Asterisk used and repeat as often as they were sent (`Output:`, `Variable:`,
 * `ChanVariable:`); lookups ignore case, as Asterisk does. Lines without a colon (`No categories found`, the
 * body of a pre-Asterisk-14 `Response: Follows`) are kept in {@link AmiMessage.text}.
 */
export class AmiMessage {
  /** `response` when the first line is `Response:`, `event` when it is `Event:`. */
  readonly type: AmiMessageType;
  /** The first line's value: the event name (`Newchannel`) or the response status (`Success`, `Error`). */
  readonly name: string;
  /** Keys in the order received. */
  readonly keys: readonly string[];
  /** Values, index for index with {@link AmiMessage.keys}. */
  readonly values: readonly string[];
  /** Lines that carried no `Key:`: free text such as `No categories found` or `Follows` command output. */
  readonly text: readonly string[];
  /** The `ActionID` value, if the message carried one. */
  readonly actionId: string | undefined;

  /**
   * @param actionId the `ActionID` value when the caller already knows it; `null` when it knows there is
   * none; omitted to look it up.
   */
  constructor(keys: string[], values: string[], text: string[] = [], actionId?: string | null) {
    this.keys = keys;
    this.values = values;
    this.text = text;
    this.type = typeOf(keys.length > 0 ? (keys[0] as string) : '');
    this.name = keys.length > 0 ? (values[0] as string) : '';
    this.actionId = actionId === undefined ? this.get('ActionID') : (actionId ?? undefined);
  }

  /** Builds a message from `[key, value]` pairs, e.g. for tests or a fake server. */
  static from(fields: Iterable<readonly [string, string]>, text: string[] = []): AmiMessage {
    const keys: string[] = [];
    const values: string[] = [];
    for (const [k, v] of fields) {
      keys.push(k);
      values.push(v);
    }
    return new AmiMessage(keys, values, text);
  }

  /** The first value of `key` (any case), or `undefined`. */
  get(key: string): string | undefined {
    const i = this.indexOf(key, 0);
    return i === -1 ? undefined : this.values[i];
  }

  /** Every value of `key` (any case), in order: the way to read repeated keys such as `Output`. */
  getAll(key: string): string[] {
    const out: string[] = [];
    for (let i = this.indexOf(key, 0); i !== -1; i = this.indexOf(key, i + 1))
      out.push(this.values[i] as string);
    return out;
  }

  /** True when `key` (any case) is present. */
  has(key: string): boolean {
    return this.indexOf(key, 0) !== -1;
  }

  /** `[key, value]` pairs in order, repeated keys included. */
  entries(): Array<[string, string]> {
    return this.keys.map((k, i) => [k, this.values[i] as string]);
  }

  /**
   * A plain object for logging or JSON: keys as sent; a repeated key maps to the array of its values in order.
   */
  toObject(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i] as string;
      const v = this.values[i] as string;
      const prev = out[k];
      if (prev === undefined) out[k] = v;
      else if (Array.isArray(prev)) prev.push(v);
      else out[k] = [prev, v];
    }
    return out;
  }

  /** The message in wire form, CRLF framing and the blank line included. */
  toString(): string {
    let s = '';
    for (let i = 0; i < this.keys.length; i++) s += `${this.keys[i]}: ${this.values[i]}\r\n`;
    for (const line of this.text) s += `${line}\r\n`;
    return `${s}\r\n`;
  }

  private indexOf(key: string, from: number): number {
    const keys = this.keys;
    const len = key.length;
    let lower: string | undefined;
    for (let i = from; i < keys.length; i++) {
      const k = keys[i] as string;
      if (k.length !== len) continue;
      if (k === key) return i;
      lower ??= key.toLowerCase();
      if (k.toLowerCase() === lower) return i;
    }
    return -1;
  }
}

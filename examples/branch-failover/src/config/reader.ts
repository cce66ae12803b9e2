import { isIP } from 'node:net';
import { PbxkitError } from '@pbxkit/core';

/** A setting that is missing or wrong; the message names the key (`dnsservice.targetnormal: ...`). */
export class ConfigError extends PbxkitError {
  constructor(message: string) {
    super('BRANCH_CONFIG', message);
  }
}

type Json = Record<string, unknown>;

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(JSON.stringify(v)));

/** Keys lower-cased at every level: Synch's loader (.NET configuration) matches keys in any case. */
export function lowerKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(lowerKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toLowerCase(), lowerKeys(v)]));
}

/**
 * Reads one section of the settings, naming `section.key` in every error, and remembers the keys it read so
 * that the others can be reported as unknown (a typo, most likely). Numbers may be given as strings, as
 * .NET's binder takes them.
 */
export class Section {
  readonly read = new Set<string>();
  private readonly data: Json;

  constructor(
    readonly name: string,
    data: unknown,
  ) {
    if (data !== undefined && (data === null || typeof data !== 'object' || Array.isArray(data))) {
      throw new ConfigError(`${name}: expected an object of settings, got ${show(data)}`);
    }
    this.data = (data ?? {}) as Json;
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  raw(key: string): unknown {
    this.read.add(key.toLowerCase());
    const v = this.data[key.toLowerCase()];
    return v === null ? undefined : v;
  }

  fail(key: string, problem: string): never {
    throw new ConfigError(`${this.name}.${key}: ${problem}`);
  }

  str(key: string, fallback?: string): string {
    const v = this.raw(key);
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      this.fail(key, 'missing (required)');
    }
    if (typeof v !== 'string' && typeof v !== 'number') this.fail(key, `expected text, got ${show(v)}`);
    return String(v);
  }

  optStr(key: string): string | undefined {
    return this.has(key) ? this.str(key) : undefined;
  }

  num(
    key: string,
    options: { fallback?: number; min?: number; integer?: boolean; max?: number } = {},
  ): number {
    const v = this.raw(key);
    if (v === undefined) {
      if (options.fallback !== undefined) return options.fallback;
      this.fail(key, 'missing (required)');
    }
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    const kind = options.integer ? 'a whole number' : 'a number';
    if (!Number.isFinite(n) || (options.integer && !Number.isInteger(n)))
      this.fail(key, `expected ${kind}, got ${show(v)}`);
    if (options.min !== undefined && n < options.min) this.fail(key, `must be >= ${options.min}, got ${n}`);
    if (options.max !== undefined && n > options.max) this.fail(key, `must be <= ${options.max}, got ${n}`);
    return n;
  }

  port(key: string, fallback?: number): number {
    return this.num(key, { fallback, integer: true, min: 0, max: 65535 });
  }

  oneOf<T extends string>(key: string, values: readonly T[], fallback?: T): T {
    const v = this.raw(key);
    if (v === undefined && fallback !== undefined) return fallback;
    const found = values.find((x) => typeof v === 'string' && x.toLowerCase() === v.toLowerCase());
    if (!found)
      this.fail(key, `expected one of ${values.join(', ')}, got ${v === undefined ? 'nothing' : show(v)}`);
    return found;
  }

  /** One IP address, or a list (a string with commas, or an array) when `list`. */
  ips(key: string, options: { list?: boolean; fallback?: string } = {}): string[] {
    const v = this.raw(key) ?? options.fallback;
    if (v === undefined) this.fail(key, 'missing (required): an IP address');
    const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',').map((s) => s.trim()) : [v];
    if (items.length === 0 || (!options.list && items.length > 1))
      this.fail(key, `expected one IP address, got ${show(v)}`);
    for (const item of items) {
      if (typeof item !== 'string' || isIP(item) === 0) this.fail(key, `${show(item)} is not an IP address`);
    }
    return items as string[];
  }

  section(key: string): Section {
    return new Section(`${this.name}.${key}`, this.raw(key));
  }

  /** Keys present and never read, as `section.key`. */
  unknown(): string[] {
    return Object.keys(this.data)
      .filter((k) => !this.read.has(k))
      .map((k) => `${this.name}.${k}`);
  }
}

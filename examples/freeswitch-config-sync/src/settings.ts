/** A setting that is missing or wrong: one line naming the variable; the process exits with code 2. */
export class SettingsError extends Error {}

/** Reads `PBXKIT_*` variables with checks, so that a typo fails at start with the variable's name. */
export class Env {
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  string(name: string, fallback?: string): string {
    const value = this.env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback === undefined) throw new SettingsError(`${name} is required`);
    return fallback;
  }

  optional(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  int(name: string, fallback: number, min = 0, max = 2 ** 31): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new SettingsError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return n;
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const raw = this.optional(name) ?? fallback;
    if (!values.includes(raw as T))
      throw new SettingsError(`${name} must be one of ${values.join(', ')}, got ${raw}`);
    return raw as T;
  }
}

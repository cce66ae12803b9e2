import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { PbxkitError } from '@pbxkit/core';
import { parse as parseYaml } from 'yaml';
import { SETTING_BY_ENV, SETTING_BY_KEY, SETTINGS, type Setting } from './settings.js';

/** A setting that cannot be used; the message names its key or variable (never a secret's value). */
export class ConfigError extends PbxkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('REFSERVER_CONFIG', message, options);
    this.name = 'ConfigError';
  }
}

/** Where each setting's value came from. */
export type Origin = 'file' | 'env';

/** The settings as environment variables (file values first, the environment over them), and their origins. */
export interface SettingValues {
  values: Record<string, string>;
  origins: Map<string, Origin>;
  /** The configuration file, absolute, when one was read. */
  file: string | undefined;
  /** `PBXKIT_*` variables of the environment that no setting reads (a typo, or another program's). */
  unknownEnv: string[];
}

/** Variables of the environment that belong to the test tooling or other programs, not to the server. */
const FOREIGN_ENV = /^PBXKIT_(TEST_|SVC_|KEEP_SERVICES$|CONFIG$|S3_START_TIMEOUT$)/;

/**
 * Reads the configuration file (YAML, or JSON, which YAML reads too) and the environment into one set of
 * variables. An unknown key, a value of the wrong shape or a file that cannot be read or parsed is a
 * {@link ConfigError} naming the key and the file.
 */
export function settingValues(options: {
  env: Record<string, string | undefined>;
  file?: string | undefined;
}): SettingValues {
  const values: Record<string, string> = {};
  const origins = new Map<string, Origin>();
  const file = options.file ? resolve(options.file) : undefined;
  if (file) {
    for (const [env, value] of Object.entries(fileVariables(readDocument(file), file))) {
      values[env] = value;
      origins.set(env, 'file');
    }
  }
  const unknownEnv: string[] = [];
  for (const [name, value] of Object.entries(options.env)) {
    if (!name.startsWith('PBXKIT_') || value === undefined) continue;
    if (!SETTING_BY_ENV.has(name)) {
      if (!FOREIGN_ENV.test(name)) unknownEnv.push(name);
      continue;
    }
    values[name] = value;
    origins.set(name, 'env');
  }
  return { values, origins, file, unknownEnv };
}

function readDocument(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`configuration file ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(
      `configuration file ${file} is not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** The file's settings as variables: every leaf must be a known key. */
function fileVariables(doc: unknown, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (doc === null || doc === undefined) return out; // an empty file
  if (!isObject(doc))
    throw new ConfigError(`configuration file ${file}: expected a mapping of keys at the top`);
  const walk = (node: Record<string, unknown>, prefix: string): void => {
    for (const [name, value] of Object.entries(node)) {
      const key = prefix ? `${prefix}.${name}` : name;
      const setting = SETTING_BY_KEY.get(key);
      if (setting) {
        if (value === null || value === undefined) continue;
        if (out[setting.env] !== undefined) throw new ConfigError(`${key} is given twice in ${file}`);
        out[setting.env] = text(setting, value, file);
      } else if (isObject(value) && SETTINGS.some((s) => s.key.startsWith(`${key}.`))) {
        walk(value, key);
      } else {
        throw new ConfigError(`unknown key ${key} in ${file}${suggest(key)}`);
      }
    }
  };
  walk(doc, '');
  return out;
}

function text(setting: Setting, value: unknown, file: string): string {
  const wrong = (what: string) =>
    new ConfigError(
      `${setting.key} in ${file}: expected ${what}, got ${Array.isArray(value) ? 'a list' : typeof value}`,
    );
  const scalar = (v: unknown): string => {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw wrong('a string, number or boolean');
  };
  if (setting.kind === 'scalar') return scalar(value);
  if (setting.kind === 'list') {
    if (Array.isArray(value)) return value.map(scalar).join(',');
    return scalar(value);
  }
  const separator = setting.kind === 'pairs=' ? '=' : ':';
  if (isObject(value))
    return Object.entries(value)
      .map(([k, v]) => `${k}${separator}${scalar(v)}`)
      .join(',');
  if (typeof value === 'string') return value;
  throw wrong(`a mapping (name: value) or "name${separator}value,…"`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** ` (did you mean storage.s3.bucket?)` for a key one small slip away from a known one. */
function suggest(key: string): string {
  const lower = key.toLowerCase();
  const close = SETTINGS.find(
    (s) => s.key.toLowerCase() === lower || distance(s.key.toLowerCase(), lower) <= 2,
  );
  return close ? ` (did you mean ${close.key}?)` : '';
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min(current + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

/**
 * The error of a value that cannot be used, naming where it came from: every variable the message names that
 * was set in the file becomes `key (VARIABLE, in file)`.
 */
export function explain(err: unknown, sources: Pick<SettingValues, 'origins' | 'file'>): ConfigError {
  const message = err instanceof Error ? err.message : String(err);
  const named = message.replace(/PBXKIT_[A-Z0-9_]+/g, (variable) => {
    const setting = SETTING_BY_ENV.get(variable);
    return setting && sources.origins.get(variable) === 'file'
      ? `${setting.key} (${variable}, in ${sources.file})`
      : variable;
  });
  return new ConfigError(named, { cause: err });
}

import { maskUrlPasswords } from '@pbxkit/core';
import { stringify } from 'yaml';
import { type ReferenceServerConfig, resolveConfig } from './resolve.js';
import { SETTING_BY_ENV } from './settings.js';
import { ConfigError, explain, type SettingValues, settingValues } from './sources.js';

export type { ReferenceServerConfig } from './resolve.js';
export { ConfigError } from './sources.js';

/** What {@link loadConfig} read: the configuration, and where its settings came from. */
export interface LoadedConfig {
  config: ReferenceServerConfig;
  sources: SettingValues;
}

/** The command line: `--config <file>` (or `PBXKIT_CONFIG`), `--print-config`. */
export interface CommandLine {
  configFile: string | undefined;
  printConfig: boolean;
}

export function parseCommandLine(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): CommandLine {
  let configFile = env.PBXKIT_CONFIG || undefined;
  let printConfig = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') continue; // `pnpm start -- --print-config` passes it on
    if (arg === '--print-config') printConfig = true;
    else if (arg === '--config') {
      configFile = argv[++i];
      if (!configFile)
        throw new ConfigError('--config needs a file: --config /etc/pbxkit/reference-server.yaml');
    } else if (arg.startsWith('--config=')) configFile = arg.slice('--config='.length);
    else
      throw new ConfigError(
        `unknown argument ${JSON.stringify(arg)}: use --config <file> and --print-config`,
      );
  }
  return { configFile, printConfig };
}

/**
 * The configuration from a file (YAML or JSON, optional) and the environment, which wins over the file. Every
 * problem is a {@link ConfigError} naming the key (and the file) or the variable.
 */
export function loadConfig(options: {
  env?: Record<string, string | undefined>;
  file?: string | undefined;
}): LoadedConfig {
  const sources = settingValues({ env: options.env ?? process.env, file: options.file });
  try {
    return { config: resolveConfig(sources.values), sources };
  } catch (err) {
    throw explain(err, sources);
  }
}

/** The configuration from environment variables only (as the tests and the README's examples use it). */
export function configFromEnv(env: Record<string, string | undefined> = process.env): ReferenceServerConfig {
  return loadConfig({ env }).config;
}

const MASK = '***';

/**
 * The effective settings, as YAML: every setting given (with where from) and the configuration the server runs
 * with, secrets masked (passwords, tokens, secrets, and the password inside a URL).
 */
export function printConfig(loaded: LoadedConfig): string {
  const given: Record<string, string> = {};
  for (const [env, value] of Object.entries(loaded.sources.values).sort()) {
    const setting = SETTING_BY_ENV.get(env);
    if (!setting) continue;
    given[`${setting.key} (${env}, ${loaded.sources.origins.get(env)})`] = setting.secret
      ? MASK
      : maskUrlPasswords(value);
  }
  const doc = {
    file: loaded.sources.file ?? null,
    given,
    ...(loaded.sources.unknownEnv.length > 0 ? { ignoredVariables: loaded.sources.unknownEnv } : {}),
    effective: mask(loaded.config),
  };
  return stringify(doc, { lineWidth: 0 });
}

const SECRET_KEY = /secret|password|token|credentials|basicUsers|bearerTokens|^links$/i;

function mask(value: unknown, key = ''): unknown {
  if (value === undefined || value === null) return value;
  if (SECRET_KEY.test(key)) return MASK;
  if (typeof value === 'string') return maskUrlPasswords(value);
  if (Array.isArray(value)) return value.map((v) => mask(v));
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, k)]));
  }
  return value;
}

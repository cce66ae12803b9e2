import { createHash } from 'node:crypto';
import type { ConfigFiles } from '../config-store/files.js';
import { ConfigSourceError } from './errors.js';
import type { ConfigSnapshot, ConfigSource } from './source.js';

/** Options of {@link RenderSource}. */
export interface RenderSourceOptions {
  /** Label of snapshots' `source` (`postgres:fusionpbx`). */
  label: string;
  /** Produces the rendered files (rows of a database turned into XML documents, say). */
  render: (signal?: AbortSignal) => Promise<ConfigFiles>;
  /** Static files the rendered ones are laid over (a directory or git source); a rendered file wins. */
  base?: ConfigSource;
}

/**
 * A database (or any renderer) as a {@link ConfigSource}: each snapshot renders the files again and lays them
 * over an optional base tree. The revision is a hash of the result, so an unchanged database gives the same
 * revision and a poller applies nothing.
 */
export class RenderSource implements ConfigSource {
  readonly description: string;

  constructor(private readonly options: RenderSourceOptions) {
    this.description = options.label;
  }

  async snapshot(signal?: AbortSignal): Promise<ConfigSnapshot> {
    const base = this.options.base ? await this.options.base.snapshot(signal) : undefined;
    let rendered: ConfigFiles;
    try {
      rendered = await this.options.render(signal);
    } catch (err) {
      throw new ConfigSourceError('CONFIG_SOURCE_RENDER', `${this.description}: rendering failed`, {
        cause: err,
      });
    }
    if (typeof rendered !== 'object' || rendered === null) {
      throw new ConfigSourceError(
        'CONFIG_SOURCE_RENDER',
        `${this.description}: the renderer returned no files`,
      );
    }
    const files = { ...(base?.files ?? {}), ...rendered };
    const assets = base?.assets ?? {};
    const hash = createHash('sha256');
    for (const name of Object.keys(files).sort()) hash.update(`${name}\0${files[name]}\0`);
    for (const name of Object.keys(assets).sort()) hash.update(`${name}\0${assets[name]?.sha256}\0`);
    return { revision: hash.digest('hex').slice(0, 16), source: this.description, files, assets };
  }

  async revision(signal?: AbortSignal): Promise<string> {
    return (await this.snapshot(signal)).revision;
  }
}

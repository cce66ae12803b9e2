import type { ConfigFiles } from '../config-store/files.js';

/** A static file (a sound or prompt) a snapshot carries by reference: copied to the node by checksum. */
export interface AssetRef {
  /** Where the bytes can be read now (inside the source's directory or checkout). */
  path: string;
  bytes: number;
  sha256: string;
}

/** What a {@link ConfigSource} holds at one moment: the text configuration and the static files. */
export interface ConfigSnapshot {
  /** Identifies the content: a git commit, or a hash of the files for a directory or a renderer. */
  revision: string;
  /** Where it came from, for the version history (`git:https://…#main@3f2a1c`, `dir:/srv/fs-conf`). */
  source: string;
  /** Text files by relative path (`/`-separated), e.g. `directory/default/1000.xml`. */
  files: ConfigFiles;
  /** Static files by relative path (`sounds/en/us/callie/ivr/welcome.wav`). */
  assets: Readonly<Record<string, AssetRef>>;
}

/**
 * Where a node's configuration comes from: a directory, a git repository, a database renderer, or anything
 * that can list files. `snapshot()` reads the whole state; `revision()` is a cheap check a poller calls to
 * learn whether a snapshot is worth taking.
 */
export interface ConfigSource {
  /** A short description for logs and history (`git https://…#main`). */
  readonly description: string;
  /** The whole current content. */
  snapshot(signal?: AbortSignal): Promise<ConfigSnapshot>;
  /** The current revision, without reading every file where the source can tell it cheaper. */
  revision(signal?: AbortSignal): Promise<string>;
}

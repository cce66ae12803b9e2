import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { ConfFile } from '@pbxkit/ami';

/**
 * Where a `FakeAsterisk` keeps its configuration files: in memory, or as real files under a directory (what
 * `/etc/asterisk` is to Asterisk), so that a program writing the files itself and one going through AMI see
 * the same thing.
 */
export class FakeConfigFiles {
  private readonly memory = new Map<string, ConfFile>();

  constructor(private readonly dir?: string) {}

  get(name: string): ConfFile | undefined {
    if (this.dir === undefined) return this.memory.get(name);
    const path = this.path(name);
    if (path === undefined) return undefined;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
    return ConfFile.parse(text);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /**
   * Stores `conf`; on disk with the header `ast_config_text_file_save2` writes when `generator` is given.
   * False for a name outside the directory.
   */
  set(name: string, conf: ConfFile, generator?: string): boolean {
    if (this.dir === undefined) {
      this.memory.set(name, conf);
      return true;
    }
    const path = this.path(name);
    if (path === undefined) return false;
    mkdirSync(dirname(path), { recursive: true });
    const header = generator
      ? `;!\n;! Automatically generated configuration file\n;! Filename: ${name} (${path})\n;! Generator: ${generator}\n;! Creation Date: ${new Date().toString()}\n;!\n\n`
      : '';
    writeFileSync(path, header + conf.toString());
    return true;
  }

  // Asterisk opens a relative name under its config directory; a name leaving it is not served here.
  private path(name: string): string | undefined {
    const dir = this.dir as string;
    const path = isAbsolute(name) ? name : join(dir, name);
    const rel = relative(dir, path);
    return rel.startsWith('..') || isAbsolute(rel) ? undefined : path;
  }
}

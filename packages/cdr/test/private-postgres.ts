import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The directory of PostgreSQL's programs: the one the test services use, else the newest Debian install. */
function postgresBin(): string {
  const given = process.env.PBXKIT_SVC_PG_BIN;
  if (given) return given;
  const versions = (() => {
    try {
      return readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b));
    } catch {
      return [];
    }
  })();
  const newest = versions.at(-1);
  if (!newest) {
    throw new Error(
      'PostgreSQL programs not found (no PBXKIT_SVC_PG_BIN, nothing in /usr/lib/postgresql): run the ' +
        'integration tests through scripts/with-test-services.sh, which installs them',
    );
  }
  return join('/usr/lib/postgresql', newest, 'bin');
}

/** A TCP port nothing listens on at the moment, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

const isRoot = process.getuid?.() === 0;

/**
 * A PostgreSQL server of the test's own, in a temp directory on a free port, that the test may stop and start
 * again (the shared test server must never be stopped). initdb and postgres refuse to run as root: as root
 * they run as the `postgres` system user.
 */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly maxConnections: number,
  ) {}

  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Creates the cluster and starts it, taking at most `maxConnections` sessions (default 20). */
  static async start(options: { maxConnections?: number } = {}): Promise<PrivatePostgres> {
    const dir = await mkdtemp(join(tmpdir(), 'pbxkit-private-pg-'));
    const server = new PrivatePostgres(dir, await freePort(), postgresBin(), options.maxConnections ?? 20);
    if (isRoot) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      await chown(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    await server.pg('initdb', [
      '-D',
      join(dir, 'data'),
      '-U',
      'postgres',
      '-A',
      'trust',
      '--no-sync',
      '-E',
      'UTF8',
    ]);
    await server.up();
    return server;
  }

  /** Starts the server (again) on its port; resolves when it accepts connections. */
  async up(): Promise<void> {
    await this.pg('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=${this.maxConnections}`,
      'start',
    ]);
  }

  /**
   * Stops the server: `fast` ends every session with 57P01 (admin shutdown), as a service restart does;
   * `immediate` is a crash. Resolves when it is down (connecting is then refused).
   */
  async down(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.pg('pg_ctl', ['-D', join(this.dir, 'data'), '-m', mode, '-w', '-t', '60', 'stop']);
  }

  /** Stops the server if it runs and deletes its directory. */
  async destroy(): Promise<void> {
    await this.down('immediate').catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }

  private async pg(program: string, args: string[]): Promise<void> {
    const path = join(this.bin, program);
    try {
      if (isRoot) await run('runuser', ['-u', 'postgres', '--', path, ...args]);
      else await run(path, args);
    } catch (err) {
      const { stderr } = err as { stderr?: string };
      throw new Error(`${program} ${args.at(-1)} failed: ${stderr || (err as Error).message}`);
    }
  }
}

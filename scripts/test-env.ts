import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where integration tests find the real services that `scripts/with-test-services.sh` started.
 * A missing variable means the tests were run without that script: say so instead of failing obscurely.
 */
export function testDatabaseUrl(): string {
  const url = process.env.PBXKIT_TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      'PBXKIT_TEST_DATABASE_URL is not set: run the integration tests through `pnpm test` ' +
        '(scripts/with-test-services.sh starts PostgreSQL and sets it).',
    );
  }
  return url;
}

/** The captured real traffic in the repository's `fixtures/` (see fixtures/README.md for where each came from). */
export const FIXTURES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures');

/** Bytes of one fixture file, e.g. `fixture('esl', '04-api-status.txt')`. */
export function fixture(...parts: string[]): Buffer {
  const path = join(FIXTURES_DIR, ...parts);
  if (!existsSync(path))
    throw new Error(`fixture ${path} not found: is the repository's fixtures/ tree complete?`);
  return readFileSync(path);
}

/** The S3 server (radosgw) that `scripts/with-test-services.sh` started: endpoint and an S3 user's keys. */
export function testS3(): { endpoint: string; accessKeyId: string; secretAccessKey: string } {
  const endpoint = process.env.PBXKIT_TEST_S3_ENDPOINT;
  const accessKeyId = process.env.PBXKIT_TEST_S3_ACCESS_KEY;
  const secretAccessKey = process.env.PBXKIT_TEST_S3_SECRET_KEY;
  if (!endpoint || !accessKeyId || !secretAccessKey) {
    throw new Error(
      'PBXKIT_TEST_S3_ENDPOINT/_ACCESS_KEY/_SECRET_KEY are not set: run the integration tests through `pnpm test` ' +
        '(scripts/with-test-services.sh starts Ceph radosgw and sets them).',
    );
  }
  return { endpoint, accessKeyId, secretAccessKey };
}

/** A variable `scripts/with-test-services.sh` sets; missing means the tests ran without it: say so. */
function serviceEnv(name: string, what: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the integration tests through \`pnpm test\` ` +
        `(scripts/with-test-services.sh ${what} and sets it).`,
    );
  }
  return value;
}

/** The `dig` binary (Debian's bind9-dnsutils) that `scripts/with-test-services.sh` installed or found. */
export function testDig(): string {
  return serviceEnv('PBXKIT_TEST_DIG', 'installs bind9-dnsutils');
}

/** The `git` binary (Debian's git) that `scripts/with-test-services.sh` installed or found. */
export function testGit(): string {
  return serviceEnv('PBXKIT_TEST_GIT', 'installs git');
}

/** The `haproxy` binary (Debian's haproxy) that `scripts/with-test-services.sh` installed or found. */
export function testHaproxy(): string {
  return serviceEnv('PBXKIT_TEST_HAPROXY', 'installs haproxy');
}

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

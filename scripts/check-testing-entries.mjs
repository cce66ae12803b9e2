// Checks, on the built output, that each package's `testing` entry shares the classes of its main entry (it
// imports the main entry by name instead of bundling a second copy), in both the ESM and the CommonJS build:
// a frame or message recorded by the fake server is `instanceof` the class users import from the main entry.
// Run after `pnpm build` (`pnpm pack:check` runs it): node scripts/check-testing-entries.mjs
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Loads `<dir>/dist/<entry>` through its package's own name, the way users' code resolves it. */
async function load(dir, name, format) {
  if (format === 'cjs') return createRequire(resolve(dir, 'package.json'))(name);
  const entry = name.endsWith('/testing') ? 'testing.js' : 'index.js';
  return import(pathToFileURL(resolve(dir, 'dist', entry)).href);
}

const checks = {
  async esl(main, testing) {
    const fake = await testing.FakeFreeSwitch.start();
    const client = new main.EslClient({ port: fake.port, password: 'ClueCon', keepalive: false });
    try {
      await client.connect();
      await client.api('version');
      const frame = fake.received.at(-1)?.frame;
      return { EslFrame: frame instanceof main.EslFrame };
    } finally {
      await client.close();
      await fake.stop();
    }
  },
  async ami(main, testing) {
    const fake = await testing.FakeAsterisk.start({ users: { admin: 'pw' } });
    const client = new main.AmiClient({
      host: fake.host,
      port: fake.port,
      username: 'admin',
      secret: 'pw',
      keepalive: false,
    });
    try {
      await client.connect();
      return { AmiMessage: fake.actions.at(-1) instanceof main.AmiMessage };
    } finally {
      await client.close();
      await fake.close();
    }
  },
};

let failed = false;
for (const [pkg, check] of Object.entries(checks)) {
  const dir = resolve('packages', pkg);
  for (const format of ['esm', 'cjs']) {
    const main = await load(dir, `@pbxkit/${pkg}`, format);
    const testing = await load(dir, `@pbxkit/${pkg}/testing`, format);
    for (const [name, shared] of Object.entries(await check(main, testing))) {
      if (!shared) failed = true;
      console.log(
        `@pbxkit/${pkg}/testing (${format}): ${name} ${shared ? 'shared with' : 'NOT shared with'} the main entry`,
      );
    }
  }
}
process.exit(failed ? 1 : 0);

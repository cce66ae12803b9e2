import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseCommandLine, printConfig } from '../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'pbxkit-ref-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (text: string, ext = 'yaml') => {
  const path = join(dir, `c${n++}.${ext}`);
  writeFileSync(path, text);
  return path;
};
const TOKEN = 'a3f1c9e27b4d8f60a3f1c9e27b4d8f61';
const LINK = 'f00dbabe1234567890abcdef13579bdf';
const PEER = '0123456789abcdef0123456789abcdef';

describe('configuration file beside the environment', () => {
  it('reads YAML and JSON, every section, and the environment wins over the file', () => {
    const yaml = file(`
port: 9090
dataDir: ${dir}/data
databaseUrl: postgres://fusionpbx:dbsecret@10.0.0.5/fusionpbx
cdr:
  user: fs
  password: cdrsecret
  retentionDays: 7
  forward:
    url: https://ccp.example/cdr
    format: xml
    user: ccp
    password: ccpsecret
    attempts: 3
auth:
  tokens: [${TOKEN}]
  users: { ops: ${TOKEN}x }
  linkSecret: ${LINK}
storage:
  instanceId: pbx-a
  local: { root: /var/lib/freeswitch/recordings, days: 5 }
  peers: { pbx-b: http://10.0.0.12:8080/_peer }
  peerSecret: ${PEER}
  s3: { bucket: rec, endpoint: http://127.0.0.1:7480, forcePathStyle: true }
  archive: { journal: /var/lib/pbxkit/archiver.journal, intervalMinutes: 30 }
`);
    const { config, sources } = loadConfig({ env: { PBXKIT_PORT: '8081' }, file: yaml });
    expect(config.port).toBe(8081); // the environment over the file
    expect(sources.origins.get('PBXKIT_PORT')).toBe('env');
    expect(config).toMatchObject({
      dataDir: `${dir}/data`,
      databaseUrl: 'postgres://fusionpbx:dbsecret@10.0.0.5/fusionpbx',
      cdr: {
        credentials: { username: 'fs', password: 'cdrsecret' },
        retentionDays: 7,
        forward: {
          name: 'forward',
          url: 'https://ccp.example/cdr',
          format: 'xml',
          credentials: { username: 'ccp', password: 'ccpsecret' },
          retry: { maxAttempts: 3 },
        },
      },
      auth: { bearerTokens: [TOKEN], basicUsers: { ops: `${TOKEN}x` }, links: { secret: LINK } },
      storage: {
        instanceId: 'pbx-a',
        local: { root: '/var/lib/freeswitch/recordings' },
        peers: { 'pbx-b': 'http://10.0.0.12:8080/_peer' },
        s3: { bucket: 'rec', forcePathStyle: true },
        // On by default, in the CDR database; the archive locks there too.
        index: { connectionString: 'postgres://fusionpbx:dbsecret@10.0.0.5/fusionpbx' },
        archive: { intervalMinutes: 30, lockUrl: 'postgres://fusionpbx:dbsecret@10.0.0.5/fusionpbx' },
      },
    });
    const json = file(JSON.stringify({ host: '127.0.0.2', cdr: { retentionDays: 30 } }), 'json');
    expect(loadConfig({ env: {}, file: json }).config).toMatchObject({
      host: '127.0.0.2',
      cdr: { retentionDays: 30 },
    });
  });

  it('names the key (and the file) of a value that cannot be used', () => {
    const cases: Array<[string, RegExp]> = [
      [
        'storage:\n  s3:\n    bucktet: x\n',
        /unknown key storage\.s3\.bucktet in .*c\d+\.yaml \(did you mean storage\.s3\.bucket\?\)/,
      ],
      ['port: http\n', /^port \(PBXKIT_PORT, in .*\) must be a port/],
      [
        'storage:\n  s3: { bucket: b, sse: DES }\n',
        /^storage\.s3\.sse \(PBXKIT_STORAGE_S3_SSE, in .*\): must be AES256 or aws:kms/,
      ],
      ['auth:\n  tokens: [zzqq]\n', /^auth\.tokens \(PBXKIT_AUTH_TOKENS, in .*\): bearer token 1/],
      [
        'cdr:\n  password: x\n',
        /^cdr\.password \(PBXKIT_CDR_PASSWORD, in .*\) is set but PBXKIT_CDR_USER is not/,
      ],
      [
        'cdr:\n  forward: { url: ftp://x }\n',
        /cdr\.forward\.url \(PBXKIT_CDR_FORWARD_URL, in .*\) must be http/,
      ],
      [
        'cdr:\n  forward: { url: http://x, format: json }\n',
        /cdr\.forward\.format .* must be one of form, xml, text-xml/,
      ],
      [
        'cdr:\n  forward: { format: xml }\n',
        /PBXKIT_CDR_FORWARD_FORMAT.* is set but PBXKIT_CDR_FORWARD_URL is not/,
      ],
      ['storage:\n  peers: [a, b]\n', /storage\.peers in .*: expected a mapping/],
      ['port: [1\n', /is not valid YAML/],
      ['- a\n- b\n', /expected a mapping of keys at the top/],
    ];
    for (const [text, message] of cases) {
      const error = (() => {
        try {
          loadConfig({ env: {}, file: file(text) });
        } catch (err) {
          return err;
        }
      })();
      expect(error, text).toBeInstanceOf(ConfigError);
      expect((error as Error).message, text).toMatch(message);
      // A secret's value is never repeated.
      expect((error as Error).message).not.toContain('zzqq');
    }
    expect(() => loadConfig({ env: {}, file: join(dir, 'missing.yaml') })).toThrow(/missing\.yaml: ENOENT/);
    // From the environment, the variable alone.
    expect(() =>
      loadConfig({ env: { PBXKIT_STORAGE_S3_BUCKET: 'b', PBXKIT_STORAGE_S3_SSE: 'DES' } }),
    ).toThrow(/^PBXKIT_STORAGE_S3_SSE: must be/);
  });

  it('refuses to serve recordings and metrics unauthenticated on a non-loopback address, unless told to', () => {
    expect(() => loadConfig({ env: { PBXKIT_HOST: '0.0.0.0' } })).toThrow(
      /PBXKIT_HOST is 0\.0\.0\.0, not a loopback address, and no operator authentication is configured/,
    );
    expect(loadConfig({ env: { PBXKIT_HOST: '0.0.0.0', PBXKIT_AUTH_OPEN: 'true' } }).config.authOpen).toBe(
      true,
    );
    expect(
      loadConfig({ env: { PBXKIT_HOST: '0.0.0.0', PBXKIT_AUTH_TOKENS: TOKEN } }).config.auth,
    ).toBeDefined();
    for (const host of ['127.0.0.1', '127.0.1.1', 'localhost', '::1']) {
      expect(loadConfig({ env: { PBXKIT_HOST: host } }).config.auth).toBeUndefined();
    }
  });

  it('--print-config shows every given setting and the effective configuration, secrets masked', () => {
    const yaml = file(`
databaseUrl: postgres://fusionpbx:dbsecret@10.0.0.5/fusionpbx
cdr: { user: fs, password: cdrsecret, forward: { url: "https://ccp:urlsecret@ccp.example/cdr" } }
auth: { tokens: [${TOKEN}], linkSecret: ${LINK} }
storage: { peerSecret: ${PEER}, s3: { bucket: b, accessKeyId: AK, secretAccessKey: s3secret } }
`);
    const loaded = loadConfig({
      env: { PBXKIT_CDR_FORWARD_PASSWORD: 'envsecret', PBXKIT_CDR_FORWARD_USER: 'u', PBXKIT_TYPO: '1' },
      file: yaml,
    });
    const text = printConfig(loaded);
    for (const secret of ['dbsecret', 'cdrsecret', 'urlsecret', TOKEN, LINK, PEER, 's3secret', 'envsecret']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain(
      'databaseUrl (PBXKIT_DATABASE_URL, file): postgres://fusionpbx:***@10.0.0.5/fusionpbx',
    );
    expect(text).toContain('cdr.forward.password (PBXKIT_CDR_FORWARD_PASSWORD, env): "***"');
    expect(text).toMatch(/retentionDays: 730/); // defaults are shown too
    expect(text).toMatch(/ignoredVariables:\n {2}- PBXKIT_TYPO/);
    expect(text).toContain('storage.s3.accessKeyId (PBXKIT_STORAGE_S3_ACCESS_KEY_ID, file): AK');
  });

  it('reads --config and --print-config from the command line (or PBXKIT_CONFIG)', () => {
    expect(parseCommandLine(['--config', '/etc/p.yaml', '--print-config'], {})).toEqual({
      configFile: '/etc/p.yaml',
      printConfig: true,
    });
    expect(parseCommandLine(['--', '--config=/a.json'], {}).configFile).toBe('/a.json');
    expect(parseCommandLine([], { PBXKIT_CONFIG: '/b.yaml' }).configFile).toBe('/b.yaml');
    expect(() => parseCommandLine(['--port', '1'], {})).toThrow(/unknown argument "--port"/);
    expect(() => parseCommandLine(['--config'], {})).toThrow(/--config needs a file/);
  });

  it('the example configuration of deploy/ loads, with the secrets its env file gives', () => {
    const example = join(dirname(fileURLToPath(import.meta.url)), '../deploy/reference-server.example.yaml');
    const env = {
      PBXKIT_DATABASE_URL: 'postgres://fusionpbx:pw@127.0.0.1:5432/fusionpbx',
      PBXKIT_CDR_PASSWORD: 'cdr',
      PBXKIT_CDR_FORWARD_PASSWORD: 'ccp',
      PBXKIT_AUTH_TOKENS: TOKEN,
      PBXKIT_AUTH_LINK_SECRET: LINK,
      PBXKIT_STORAGE_S3_SECRET_ACCESS_KEY: 'sk',
      PBXKIT_STORAGE_PEER_SECRET: PEER,
    };
    const { config } = loadConfig({ env, file: example });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      cdr: { forward: { name: 'ccp' }, credentials: { username: 'freeswitch' } },
      storage: {
        instanceId: 'pbx-a',
        tierOrder: ['local', 'peers', 'archive'],
        peers: { 'pbx-b': 'http://10.0.0.12:8080/_peer' },
      },
    });
    // Without its env file it refuses to serve recordings to the network unauthenticated.
    const { PBXKIT_AUTH_TOKENS: _t, PBXKIT_AUTH_LINK_SECRET: _l, ...withoutAuth } = env;
    expect(() => loadConfig({ env: withoutAuth, file: example })).toThrow(/not a loopback address/);
  });
});

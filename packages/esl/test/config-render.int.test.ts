import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DirectorySource,
  GitSource,
  HybridPublisher,
  pgClient,
  RenderSource,
  runGit,
  type SqlClient,
} from '@pbxkit/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl, testGit } from '../../../scripts/test-env.js';
import { fusionPbxTablesDdl } from '../../cdr/test/fusionpbx-tables.js';
import { ConfigValidator, EslClient, FsConfigSync, fusionPbxRenderer } from '../src/index.js';
import { FakeFreeSwitch } from '../src/testing/index.js';
import { sampleTree } from './fs-conf-tree.js';
import { makeRepo, writeFiles } from './git-repo.js';

// FusionPBX's v_gateways (app/gateways/app_config.php), the columns the renderer reads and a few more.
const V_GATEWAYS = `gateway_uuid uuid primary key, domain_uuid uuid, gateway text, username text, password text,
  distinct_to text, auth_username text, realm text, from_user text, from_domain text, proxy text, register_proxy text,
  outbound_proxy text, expire_seconds numeric, register text, register_transport text, retry_seconds numeric,
  extension text, ping text, caller_id_in_from text, supress_cng text, sip_cid_type text, codec_prefs text,
  channels numeric, extension_in_contact text, context text, profile text, hostname text, enabled text,
  description text`;

const DOMAIN_A = randomUUID();
const GATEWAY = randomUUID();

describe('FusionPBX on PostgreSQL rendered to XML, and the hybrid: render, commit, push, nodes pull', () => {
  const schema = `fs_render_${process.pid}_${randomUUID().slice(0, 8)}`;
  let pool: pg.Pool;
  let sql: SqlClient;
  let root: string;

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
    sql = pgClient(pool);
    await pool.query(`create schema ${schema}`);
    for (const ddl of fusionPbxTablesDdl(schema)) await pool.query(ddl);
    await pool.query(`create table ${schema}.v_gateways (${V_GATEWAYS})`);
    const domainB = randomUUID();
    await pool.query(
      `insert into ${schema}.v_domains (domain_uuid, domain_name, domain_enabled) values ($1, 'tenant-a.example.com', true), ($2, 'tenant-b.example.com', true)`,
      [DOMAIN_A, domainB],
    );
    await pool.query(
      `insert into ${schema}.v_extensions (extension_uuid, domain_uuid, extension, password, user_context, effective_caller_id_name, enabled)
       values ($1, $3, '1001', 'a&b<c"', 'tenant-a.example.com', 'Jürgen "JJ" Müller', true),
              ($2, $3, '1002', 'pw2', 'tenant-a.example.com', null, true),
              ($4, $5, '2001', 'pw3', 'tenant-b.example.com', 'B', true),
              ($6, $5, '2002', 'pw4', 'tenant-b.example.com', 'disabled', false)`,
      [randomUUID(), randomUUID(), DOMAIN_A, randomUUID(), domainB, randomUUID()],
    );
    await pool.query(
      `insert into ${schema}.v_gateways (gateway_uuid, domain_uuid, gateway, username, password, proxy, realm, register, profile, enabled, expire_seconds)
       values ($1, $2, 'carrier', 'acct', 'secret', 'sip.carrier.example', 'sip.carrier.example', 'true', 'external', 'true', 800)`,
      [GATEWAY, DOMAIN_A],
    );
    root = await mkdtemp(join(tmpdir(), 'fs-render-'));
  });

  afterAll(async () => {
    await pool?.query(`drop schema if exists ${schema} cascade`);
    await sql?.close();
    await pool?.end();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('renders enabled extensions per domain and gateways named by uuid, escaped, and the tree validates', async () => {
    const files = await fusionPbxRenderer(sql, { schema })();
    expect(Object.keys(files).sort()).toEqual([
      'directory/tenant-a.example.com.xml',
      'directory/tenant-a.example.com/1001.xml',
      'directory/tenant-a.example.com/1002.xml',
      'directory/tenant-b.example.com.xml',
      'directory/tenant-b.example.com/2001.xml',
      `sip_profiles/external/v_${GATEWAY}.xml`,
    ]);
    expect(files['directory/tenant-a.example.com/1001.xml']).toContain(
      '<param name="password" value="a&amp;b&lt;c&quot;"/>',
    );
    expect(files[`sip_profiles/external/v_${GATEWAY}.xml`]).toContain(
      '<param name="expire-seconds" value="800"/>',
    );
    const config = new ConfigValidator().validate({ ...sampleTree(0), ...files });
    expect(config.sections.has('directory/tenant-a.example.com/user/1001')).toBe(true);
    expect(config.sections.has('directory/tenant-b.example.com/user/2002')).toBe(false);
    expect(config.sections.has(`sofia/external/gateway/${GATEWAY}`)).toBe(true);
    const only = await fusionPbxRenderer(sql, { schema, domain: 'tenant-b.example.com' })();
    expect(Object.keys(only).filter((n) => n.startsWith('directory/'))).toEqual([
      'directory/tenant-b.example.com/2001.xml',
      'directory/tenant-b.example.com.xml',
    ]);
  });

  it('hybrid: a FusionPBX edit is rendered, committed and pushed once; the node pulls it and reloads the least', async () => {
    const repo = await makeRepo(join(root, 'hybrid'));
    const staticDir = join(root, 'static');
    await writeFiles(staticDir, sampleTree(0));
    const render = new RenderSource({
      label: 'postgres:fusionpbx',
      render: fusionPbxRenderer(sql, { schema }),
      base: new DirectorySource({ dir: staticDir }),
    });
    const publishDir = join(root, 'publish');
    await runGit(['clone', '--quiet', repo.remote, publishDir], { git: testGit() });
    const publisher = new HybridPublisher({ source: render, repoDir: publishDir, git: testGit() });
    const first = await publisher.publish('render from FusionPBX');
    expect(first.changed).toBe(true);
    expect(await publisher.publish('nothing new')).toMatchObject({ changed: false, commit: first.commit });

    const fake = await FakeFreeSwitch.start();
    const client = new EslClient({ port: fake.port, password: 'ClueCon' });
    try {
      await client.connect();
      fake.reloads.configuredGateways.set('external', new Set([GATEWAY]));
      const node = new GitSource({
        remote: repo.remote,
        checkoutDir: join(root, 'node-checkout'),
        git: testGit(),
      });
      const confDir = join(root, 'node-conf');
      const sync = await FsConfigSync.open({
        confDir,
        stateDir: join(root, 'node-state'),
        esl: client,
        fsync: false,
      });
      const v1 = await sync.apply(await node.snapshot());
      expect(v1.revision).toBe(first.commit);
      expect(await readFile(join(confDir, 'directory/tenant-a.example.com/1002.xml'), 'utf8')).toContain(
        'pw2',
      );

      await pool.query(`update ${schema}.v_extensions set password = 'new-pw' where extension = '1002'`);
      await pool.query(`update ${schema}.v_gateways set enabled = 'false'`);
      const second = await publisher.publish('render from FusionPBX');
      expect(second.changed).toBe(true);
      expect(await node.revision()).toBe(second.commit);
      fake.received.length = 0;
      const v2 = await sync.apply(await node.snapshot());
      expect(v2.diff.sections).toEqual({
        added: [],
        removed: [`sofia/external/gateway/${GATEWAY}`],
        changed: ['directory/tenant-a.example.com/user/1002'],
      });
      expect(v2.commands.map((c) => c.command)).toEqual([
        'reloadxml',
        `sofia profile external killgw ${GATEWAY}`,
      ]);
      expect(await readFile(join(confDir, 'directory/tenant-a.example.com/1002.xml'), 'utf8')).toContain(
        'new-pw',
      );
    } finally {
      await client.close();
      await fake.stop();
    }
  });
});

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../scripts/test-env.js';
import { PostgresCdrSink, parseCdr } from '../src/index.js';
import { makeCdr } from './dispatch-helpers.js';
import { fusionPbxTablesDdl } from './fusionpbx-tables.js';

const ACME = '0a000000-0000-4000-8000-000000000001';
const OTHER = '0b000000-0000-4000-8000-000000000002';
const EXT = {
  acme1001: 'e1000000-0000-4000-8000-000000001001',
  acme1002: 'e1000000-0000-4000-8000-000000001002',
  acme1003: 'e1000000-0000-4000-8000-000000001003',
  acme1004: 'e1000000-0000-4000-8000-000000001004',
  other1001: 'e2000000-0000-4000-8000-000000001001',
  late: 'e1000000-0000-4000-8000-000000001009',
};
const AGENT = 'a6000000-0000-4000-8000-000000000001';
const QUEUE = 'c0000000-0000-4000-8000-000000005000';

/** A real CDR of a new call with these channel variables added. */
function cdrWith(variables: Record<string, string>) {
  const { uuid, xml } = makeCdr();
  const extra = Object.entries(variables)
    .map(([k, v]) => `    <${k}>${encodeURIComponent(v)}</${k}>\n`)
    .join('');
  return { uuid, record: parseCdr(xml.replace('<variables>\n', `<variables>\n${extra}`)) };
}

describe('PostgresCdrSink on a FusionPBX-shaped database: extension and queue lookups (real PostgreSQL)', () => {
  const schema = `cdr_lookup_${process.pid}_${randomUUID().slice(0, 8)}`;
  let pool: pg.Pool;
  let sink: PostgresCdrSink;

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
    await pool.query(`create schema ${schema}`);
    for (const ddl of fusionPbxTablesDdl(schema)) await pool.query(ddl);
    await pool.query(
      `insert into ${schema}.v_domains (domain_uuid, domain_name, domain_enabled) values
         ($1, 'acme.example.com', true), ($2, 'other.example.com', true)`,
      [ACME, OTHER],
    );
    await pool.query(
      `insert into ${schema}.v_extensions (extension_uuid, domain_uuid, extension, number_alias, enabled) values
         ($1, $5, '1001', null, true), ($2, $5, '1002', '2002', true), ($3, $5, '1003', '201', true),
         ($4, $5, '1004', null, true), ($6, $7, '1001', null, true)`,
      [EXT.acme1001, EXT.acme1002, EXT.acme1003, EXT.acme1004, ACME, EXT.other1001, OTHER],
    );
    await pool.query(
      `insert into ${schema}.v_call_center_agents (call_center_agent_uuid, domain_uuid, agent_name, agent_id)
       values ($1, $2, 'Alice', '1004')`,
      [AGENT, ACME],
    );
    await pool.query(
      `insert into ${schema}.v_call_center_queues (call_center_queue_uuid, domain_uuid, queue_name, queue_extension)
       values ($1, $2, 'Sales', '5000')`,
      [QUEUE, ACME],
    );
    sink = new PostgresCdrSink({ pool }, { schema });
    await sink.createSchema();
  });
  afterAll(async () => {
    await sink?.close();
    await pool?.query(`drop schema ${schema} cascade`);
    await pool?.end();
  });

  it('fills extension_uuid from v_extensions in the CDR domain, as FusionPBX does, and keeps the variable when set', async () => {
    const cases: Array<{ vars: Record<string, string>; want: string | null; why: string }> = [
      { vars: { domain_uuid: ACME, dialed_user: '1001' }, want: EXT.acme1001, why: 'dialed_user' },
      {
        vars: { domain_uuid: OTHER, dialed_user: '1001' },
        want: EXT.other1001,
        why: 'same number, other domain',
      },
      { vars: { domain_uuid: ACME, referred_by_user: '201' }, want: EXT.acme1003, why: 'number_alias' },
      {
        vars: { domain_uuid: ACME, dialed_user: '1001', last_sent_callee_id_number: '2002' },
        want: EXT.acme1002,
        why: 'last_sent_callee_id_number wins, as in FusionPBX',
      },
      {
        vars: { domain_uuid: ACME, dialed_user: '1001', last_sent_callee_id_number: '+15551234567' },
        want: EXT.acme1001,
        why: 'an outside number does not erase the dialed extension',
      },
      // No domain_uuid variable: the domain comes from v_domains by name, then scopes the extension.
      {
        vars: { domain_name: 'other.example.com', dialed_user: '1001' },
        want: EXT.other1001,
        why: 'domain by name',
      },
      {
        vars: { domain_uuid: ACME, cc_agent: AGENT, cc_side: 'agent' },
        want: EXT.acme1004,
        why: 'call-centre agent',
      },
      {
        vars: { domain_uuid: ACME, extension_uuid: EXT.acme1002, dialed_user: '1001' },
        want: EXT.acme1002,
        why: 'the channel variable is kept',
      },
      { vars: { domain_uuid: ACME, dialed_user: '9999' }, want: null, why: 'no such extension' },
    ];
    const cdrs = cases.map((c) => ({ ...c, ...cdrWith(c.vars) }));
    await sink.write(cdrs.map((c) => c.record));
    for (const c of cdrs) expect((await sink.get(c.uuid))?.extension_uuid ?? null, c.why).toBe(c.want);
  });

  it('fills call_center_queue_uuid by queue extension in the CDR domain', async () => {
    const byQueue = cdrWith({ domain_uuid: ACME, cc_queue: '5000@acme.example.com', cc_side: 'member' });
    const undef = cdrWith({
      domain_uuid: ACME,
      cc_queue: '5000@acme.example.com',
      call_center_queue_uuid: '_undef_',
    });
    const otherDomain = cdrWith({ domain_uuid: OTHER, cc_queue: '5000@other.example.com' });
    const given = randomUUID();
    const withVariable = cdrWith({
      domain_uuid: ACME,
      cc_queue: '5000@acme.example.com',
      call_center_queue_uuid: given,
    });
    await sink.write([byQueue.record, undef.record, otherDomain.record, withVariable.record]);
    expect((await sink.get(byQueue.uuid))?.call_center_queue_uuid).toBe(QUEUE);
    expect((await sink.get(undef.uuid))?.call_center_queue_uuid).toBe(QUEUE);
    expect((await sink.get(otherDomain.uuid))?.call_center_queue_uuid).toBeNull();
    expect((await sink.get(withVariable.uuid))?.call_center_queue_uuid).toBe(given);
  });

  it('sees an extension created after a lookup missed it once the cache time is over, and can be turned off', async () => {
    const fresh = new PostgresCdrSink({ pool }, { schema, lookupCacheMs: 0 });
    const before = cdrWith({ domain_uuid: ACME, dialed_user: '1009' });
    await fresh.write([before.record]);
    expect((await fresh.get(before.uuid))?.extension_uuid).toBeNull();
    await pool.query(
      `insert into ${schema}.v_extensions (extension_uuid, domain_uuid, extension) values ($1, $2, '1009')`,
      [EXT.late, ACME],
    );
    const after = cdrWith({ domain_uuid: ACME, dialed_user: '1009' });
    await fresh.write([after.record]);
    expect((await fresh.get(after.uuid))?.extension_uuid).toBe(EXT.late);

    const off = new PostgresCdrSink({ pool }, { schema, resolveExtensions: false, resolveQueues: false });
    const skipped = cdrWith({ domain_uuid: ACME, dialed_user: '1001', cc_queue: '5000@acme.example.com' });
    await off.write([skipped.record]);
    expect(await off.get(skipped.uuid)).toMatchObject({ extension_uuid: null, call_center_queue_uuid: null });
  });
});

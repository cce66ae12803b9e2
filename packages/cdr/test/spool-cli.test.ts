import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CdrSpool, inspectSpool, parseCdr, runCli } from '../src/index.js';
import { cliIo as io, makeCdr } from './dispatch-helpers.js';

describe('pbxkit-cdr spool (read-only inspection)', () => {
  it('reports entries, what each sink lacks, dead letters and quarantine, and exports the undelivered CDRs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbxkit-spool-cli-'));
    const spool = await CdrSpool.open({ dir });
    const cdrs = Array.from({ length: 5 }, () => makeCdr());
    const ids: string[] = [];
    for (const [i, c] of cdrs.entries()) ids.push(await spool.append({ ...c, leg: i === 0 ? 'a' : 'b' }));
    await spool.attachSink('pg');
    await spool.attachSink('ccp');
    await spool.markDone('pg', ids);
    await spool.markDone('ccp', ids.slice(0, 3));
    await spool.deadLetter('ccp', ids[3] as string, new Error('refused'), 10);
    await spool.quarantine({ body: Buffer.from('cdr=<cdr'), reason: 'truncated' });
    // The service keeps running: inspection must not touch its files.
    const segment = join(dir, 'segments', '0000000001.seg');
    const before = statSync(segment);

    const out = join(mkdtempSync(join(tmpdir(), 'pbxkit-spool-export-')), 'cdrs');
    const run = io();
    expect(await runCli(['spool', dir, '--export', out], run.io)).toBe(0);
    expect(run.out()).toContain('1 segment(s)');
    expect(run.out()).toContain('5 entries');
    expect(run.out()).toMatch(/pg: 0 not stored yet/);
    // ids[3] was dead-lettered, which counts as done for ccp: only ids[4] is missing there.
    expect(run.out()).toMatch(/ccp: 1 not stored yet/);
    expect(run.out()).toContain('dead letters: ccp 1');
    expect(run.out()).toContain('quarantined bodies: 1');
    expect(run.out()).toContain('exported 1 CDR file(s)');
    const last = cdrs[4] as { uuid: string; xml: string };
    expect(readdirSync(out)).toEqual([`${last.uuid}.cdr.xml`]);
    expect(parseCdr(readFileSync(join(out, `${last.uuid}.cdr.xml`), 'utf8')).uuid).toBe(last.uuid);

    const all = await inspectSpool(dir, { exportTo: join(out, 'all'), all: true });
    expect(all.exported).toBe(5);
    expect(readdirSync(join(out, 'all'))).toContain(`a_${cdrs[0]?.uuid}.cdr.xml`);
    expect(all.entries.map((e) => e.id)).toEqual(ids);
    expect(all.entries[4]?.deliveredTo).toEqual(['pg']);

    const after = statSync(segment);
    expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
    expect(await spool.pending()).toEqual(ids);
    await spool.close();
  });

  it('asks for exactly one spool directory', async () => {
    expect(await runCli(['spool'], io().io)).toBe(2);
    expect(await runCli(['spool', 'a', 'b'], io().io)).toBe(2);
  });
});

/**
 * `pnpm --filter @pbxkit/esl bench:config`: one user changed in a 10,000-user directory, from the edit in the
 * source directory to the version recorded, against FakeFreeSwitch over loopback ESL; beside it what a cron job
 * of `rsync && fs_cli -x reloadxml` does (copy every file, reload). Prints times and reload commands sent.
 *
 * Options: --users <n> (default 10000), --rounds <n> (default 5).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DirectorySource } from '@pbxkit/core';
import { EslClient, FsConfigSync } from '../src/index.js';
import { FakeFreeSwitch } from '../src/testing/index.js';
import { sampleTree, userXml } from '../test/fs-conf-tree.js';
import { writeFiles } from '../test/git-repo.js';

const { values: opts } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: { users: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '5' } },
});
const USERS = Number(opts.users);
const ROUNDS = Number(opts.rounds);

const root = await mkdtemp(join(tmpdir(), 'pbxkit-bench-config-'));
const fake = await FakeFreeSwitch.start();
const client = new EslClient({ port: fake.port, password: 'ClueCon' });
try {
  await client.connect();
  const tree = sampleTree(USERS);
  const srcDir = join(root, 'src');
  const confDir = join(root, 'conf');
  await writeFiles(srcDir, tree);
  await writeFiles(confDir, tree);
  const source = new DirectorySource({ dir: srcDir });
  const sync = await FsConfigSync.open({ confDir, stateDir: join(root, 'state'), esl: client });
  let t = performance.now();
  const first = await sync.apply(await source.snapshot(), { appliedBy: 'bench' });
  console.log(
    `${Object.keys(tree).length} files (${USERS} users); first apply (version ${first.version}, baseline read from the conf dir): ${(performance.now() - t).toFixed(0)} ms`,
  );

  const pipeline: number[] = [];
  const snapshots: number[] = [];
  let commands = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const id = String(1000 + Math.floor((round * 7919) % USERS));
    await writeFile(join(srcDir, `directory/default/${id}.xml`), userXml(id, `round-${round}`));
    t = performance.now();
    const snap = await source.snapshot();
    snapshots.push(performance.now() - t);
    const result = await sync.apply(snap, { appliedBy: 'bench' });
    pipeline.push(performance.now() - t);
    commands = result.commands.length;
    if (result.diff.sections.changed.join() !== `directory/pbx.example.com/user/${id}`) {
      throw new Error(`unexpected diff: ${JSON.stringify(result.diff.sections)}`);
    }
    const onDisk = await readFile(join(confDir, `directory/default/${id}.xml`), 'utf8');
    if (!onDisk.includes(`round-${round}`)) throw new Error('the change did not reach the conf dir');
  }

  // The usual alternative: copy the whole tree over (rsync without checksums) and reloadxml, no validation.
  const naive: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    t = performance.now();
    const snap = await new DirectorySource({ dir: srcDir }).snapshot();
    for (const [name, text] of Object.entries(snap.files)) await writeFile(join(confDir, name), text);
    await client.api('reloadxml');
    naive.push(performance.now() - t);
  }

  const best = (xs: number[]) => Math.min(...xs);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  console.log(`one user changed, ${ROUNDS} rounds (edit in the source dir → version recorded):`);
  console.log(
    `  FsConfigSync (validate, section diff, write 1 file, ${commands} reload command: reloadxml, record): best ${best(pipeline).toFixed(0)} ms, median ${median(pipeline).toFixed(0)} ms`,
  );
  console.log(
    `    of which re-listing the source (10,000 stats, 1 file read): median ${median(snapshots).toFixed(0)} ms`,
  );
  console.log(
    `  copy every file + reloadxml (no validation, no history):           best ${best(naive).toFixed(0)} ms, median ${median(naive).toFixed(0)} ms`,
  );
  console.log(
    `  ratio (copy-all / FsConfigSync, medians): ${(median(naive) / median(pipeline)).toFixed(1)}x`,
  );
  if (median(pipeline) > 1000) console.log('  WARNING: over the 1 s target');
} finally {
  await client.close();
  await fake.stop();
  await rm(root, { recursive: true, force: true });
}

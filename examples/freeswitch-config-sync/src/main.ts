/**
 * `tsx src/main.ts --mode <mode>`: one daemon, several roles. Each mode is a module exporting `run(args, env)`;
 * add a mode by adding a line to `MODES`.
 *
 *   node     beside each FreeSWITCH: pull the configuration (git, a directory or FusionPBX's database), apply it
 *            with the smallest reload, history/diff/rollback over HTTP (src/node-mode.ts)
 *   publish  beside FusionPBX: render its database to XML, commit and push to the repository the nodes pull
 *            (src/publish-mode.ts)
 *   central  anywhere: follow every node over ESL and serve the realtime cluster view as JSON (src/central-mode.ts)
 */
import { parseArgs } from 'node:util';

type Mode = { run(args: string[], env: NodeJS.ProcessEnv): Promise<void> };

const MODES: Record<string, () => Promise<Mode>> = {
  node: () => import('./node-mode.js'),
  publish: () => import('./publish-mode.js'),
  central: () => import('./central-mode.js'),
};

const args = process.argv.slice(2).filter((a) => a !== '--');
const { values } = parseArgs({ args, options: { mode: { type: 'string', default: 'node' } }, strict: false });
const mode = String(values.mode);
const load = MODES[mode];
if (!load) {
  process.stderr.write(
    `freeswitch-config-sync: unknown --mode ${mode} (one of: ${Object.keys(MODES).join(', ')})\n`,
  );
  process.exit(2);
}
await (await load()).run(args, process.env);

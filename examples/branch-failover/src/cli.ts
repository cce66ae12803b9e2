import { ConfigError } from './config/settings.js';

/** The command line: `--config <file>` (default `appsettings.json`, as Synch), `--dry-run`, `--help`. */
export interface CommandLine {
  configFile: string;
  dryRun: boolean;
  help: boolean;
}

export const USAGE = `usage: pbxkit-branch-failover [--config <appsettings.json|settings.yaml>] [--dry-run]
  --config   Synch's appsettings.json as is, or JSON/YAML with pbxkit's extensions (default ./appsettings.json)
  --dry-run  check the settings, print what would be synced and served, change nothing, exit
`;

export function parseCommandLine(argv: readonly string[]): CommandLine {
  const line: CommandLine = { configFile: 'appsettings.json', dryRun: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') continue; // `npm start -- --config x` passes it on
    if (arg === '--dry-run') line.dryRun = true;
    else if (arg === '--help' || arg === '-h') line.help = true;
    else if (arg === '--config') {
      const file = argv[++i];
      if (!file) throw new ConfigError('--config needs a file: --config /opt/synch/appsettings.json');
      line.configFile = file;
    } else if (arg.startsWith('--config=')) line.configFile = arg.slice('--config='.length);
    else throw new ConfigError(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
  }
  return line;
}

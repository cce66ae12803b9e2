import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const serverDir = resolve(here, '..');
const root = resolve(here, '../../..');

/**
 * Starts the reference server as `pnpm start` does, in a process of its own (tsx's loader runs in that very
 * process, so a SIGKILL kills the server); resolves with its URL.
 */
export async function startServerProcess(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess; exited: Promise<string>; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(serverDir, 'src/main.ts')], {
    cwd: serverDir,
    env: {
      ...process.env,
      PBXKIT_PORT: '0',
      PBXKIT_DATA_DIR: dataDir,
      TSX_TSCONFIG_PATH: join(root, 'tsconfig.json'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<string>((done) =>
    child.once('exit', (code, signal) => done(`exited (code ${code}, signal ${signal})`)),
  );
  const url = await new Promise<string>((found, failed) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /pbxkit reference server on (http:\/\/\S+)/.exec(output);
      if (match) found(match[1] as string);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((how) => failed(new Error(`the server ${how} before listening:\n${output}`)));
  });
  return { url, child, exited, output: () => output };
}

#!/usr/bin/env node
import { runCli } from './main.js';

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // runCli reports its own errors; this is the last resort, one line as well.
    process.stderr.write(`pbxkit-cdr: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);

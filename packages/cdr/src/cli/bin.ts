#!/usr/bin/env node
import { runCli } from './main.js';

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pbxkit-cdr: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);

#!/usr/bin/env node
import { runVoicemailCli } from './voicemail.js';

runVoicemailCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pbxkit-voicemail: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);

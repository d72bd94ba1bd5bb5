#!/usr/bin/env node
import { homedir } from 'node:os';
import { processTerminal } from './attach/terminal';
import { runCli } from './cli';

// `moat sandbox ls | head`: the reader went away; what is left to write has nobody to read it.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  homeDir: homedir(),
  isTty: process.stderr.isTTY,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  terminal: processTerminal(),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`moat: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);

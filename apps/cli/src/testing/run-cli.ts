import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeApi } from '@moat/sdk/testing';
import { runCli } from '../cli';
import { FakeTerminal } from './fake-terminal';

/** What a run of the CLI left: its exit code and everything it wrote. */
export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The control plane behind the SDK's fetch (default: the real fetch). */
  api?: FakeApi;
  /** The environment (default: MOAT_API_URL and MOAT_TOKEN of a fake API). */
  env?: NodeJS.ProcessEnv;
  /** The home directory (default: a fresh empty one, removed after the run). */
  homeDir?: string;
  isTty?: boolean;
  /** The terminal moat attach works on (default: no input, not a terminal). */
  terminal?: FakeTerminal;
}

const FAKE_API_URL = 'http://moat.test:8080';
export const FAKE_TOKEN = 'moat_test-token';

/** Runs `moat <args>` in this process, on a fake API and a throw-away home, with no waiting. */
export async function runMoat(
  args: string[],
  { api, env = { MOAT_API_URL: FAKE_API_URL, MOAT_TOKEN: FAKE_TOKEN }, homeDir, isTty = false, terminal = new FakeTerminal() }: RunOptions = {},
): Promise<CliRun> {
  const run = { stdout: '', stderr: '' };
  terminal.writeTo((stream, text) => void (run[stream] += text));
  const home = homeDir ?? mkdtempSync(join(tmpdir(), 'moat-cli-home-'));
  try {
    const exitCode = await runCli(args, {
      stdout: (text) => void (run.stdout += text),
      stderr: (text) => void (run.stderr += text),
      env,
      homeDir: home,
      isTty,
      sleep: () => Promise.resolve(),
      terminal,
      ...(api && { fetch: api.fetch }),
    });
    return { exitCode, ...run };
  } finally {
    if (home !== homeDir) rmSync(home, { recursive: true, force: true });
  }
}

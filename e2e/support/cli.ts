import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { API_URL } from './api';

// e2e/run.mjs runs the specs from e2e/.
export const CLI_PATH = resolve('..', 'apps', 'cli', 'dist', 'moat.js');

export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * The built `moat` CLI as a user runs it: its own home (so its own login, kept in
 * ~/.config/moat/config.json), nothing of this process's environment but PATH.
 */
export class MoatCli {
  readonly home = mkdtempSync(join(tmpdir(), 'moat-cli-e2e-'));
  readonly env = { PATH: process.env.PATH ?? '', HOME: this.home, XDG_CONFIG_HOME: join(this.home, '.config') };

  /** `moat login` against the e2e stack with `token`. */
  login(token: string): Promise<CliRun> {
    return this.run(['login', API_URL, '--token', token]);
  }

  /**
   * Runs `moat <args>` to its end (killed after `timeoutMs`). Asynchronously: a test blocked in
   * spawnSync would not see the server close its idle keep-alive connections, and its next
   * fetch would go out on a dead one.
   */
  run(args: string[], { timeoutMs = 180_000 }: { timeoutMs?: number } = {}): Promise<CliRun> {
    const child = this.start(args);
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill(), timeoutMs);
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (status) => {
        clearTimeout(timer);
        resolve({ status: status ?? -1, stdout, stderr });
      });
    });
  }

  /** Starts `moat <args>` and leaves it running (for `logs -f`). */
  start(args: string[]): ChildProcessWithoutNullStreams {
    return spawn(process.execPath, [CLI_PATH, ...args], { env: this.env });
  }

  dispose(): void {
    rmSync(this.home, { recursive: true, force: true });
  }
}

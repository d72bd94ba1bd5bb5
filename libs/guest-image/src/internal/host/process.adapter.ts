import { spawn } from 'node:child_process';
import { GuestImageError, GuestImageErrorCode } from '../../errors/guest-image.error';

export interface RunOptions {
  cwd?: string;
  /** Added to the inherited environment. */
  env?: Readonly<Record<string, string>>;
  /** Written to the child's stdin, which is closed afterwards. */
  input?: Buffer;
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/** Runs host tools; an interface so the build steps can be exercised with a fake. */
export interface ProcessRunner {
  run(command: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
}

/** Stderr beyond this is dropped from error messages: apt and mkfs can be chatty. */
const STDERR_LIMIT = 8 * 1024;

/** Spawns without a shell and rejects with the command line and its stderr on failure. */
export class SpawnProcessRunner implements ProcessRunner {
  run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const commandLine = [command, ...args].join(' ');
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env ? { ...process.env, ...options.env } : process.env,
        stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < STDERR_LIMIT) stderr += chunk.toString('utf8');
      });
      child.on('error', (cause) =>
        reject(new GuestImageError(GuestImageErrorCode.COMMAND_FAILED, `cannot run ${commandLine}`, { cause })),
      );
      child.on('close', (code, signal) => {
        if (code === 0) {
          resolve({ stdout: Buffer.concat(stdout), stderr });
          return;
        }
        const status = signal ? `killed by ${signal}` : `exited with ${code}`;
        reject(
          new GuestImageError(
            GuestImageErrorCode.COMMAND_FAILED,
            `${commandLine} ${status}: ${stderr.trim().slice(0, STDERR_LIMIT)}`,
          ),
        );
      });
      // A child that exits before reading all its input makes stdin emit EPIPE; the exit
      // status already tells the story.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    });
  }
}

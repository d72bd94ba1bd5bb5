import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { constants } from 'node:os';

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs host binaries (crun, mount, umount) from argv arrays, never through a shell. */
export interface HostCommands {
  /** Resolves with the exit status whatever it is; rejects only when the binary cannot be started. */
  run(command: string, args: readonly string[]): Promise<CommandResult>;
  /** A long-lived child with piped stdio, owned by the caller. */
  spawn(command: string, args: readonly string[]): ChildProcessWithoutNullStreams;
}

// crun and mount print a line or two; a bound keeps a misbehaving tool from filling memory.
const MAX_CAPTURED_BYTES = 64 * 1024;

export class ChildProcessHostCommands implements HostCommands {
  run(command: string, args: readonly string[]): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const stdout = capture(child.stdout);
      const stderr = capture(child.stderr);
      child.once('error', reject);
      child.once('close', (code, signal) => {
        resolve({ exitCode: code ?? 128 + signalNumber(signal), stdout: stdout(), stderr: stderr() });
      });
    });
  }

  spawn(command: string, args: readonly string[]): ChildProcessWithoutNullStreams {
    return spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  }
}

function capture(stream: NodeJS.ReadableStream): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (chunk: Buffer) => {
    if (size >= MAX_CAPTURED_BYTES) return;
    chunks.push(chunk);
    size += chunk.length;
  });
  return () => Buffer.concat(chunks).subarray(0, MAX_CAPTURED_BYTES).toString('utf8').trim();
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? constants.signals[signal] : 0;
}

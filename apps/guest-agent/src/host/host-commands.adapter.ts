import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { constants } from 'node:os';
import { spawn as spawnPty, type IPty } from '@lydell/node-pty';

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs host binaries (crun, mount, umount) from argv arrays, never through a shell. */
export interface HostCommands {
  /** Resolves with the exit status whatever it is; rejects only when the binary cannot be started. */
  run(command: string, args: readonly string[]): Promise<CommandResult>;
  /**
   * A long-lived child with piped stdio, owned by the caller. `extraFds` become the child's fds
   * 3, 4, …: an open fd of the agent's, or 'pipe' for a new socket (`child.stdio[3 + i]`).
   */
  spawn(command: string, args: readonly string[], extraFds?: readonly (number | 'pipe')[]): ChildProcessWithoutNullStreams;
  /** A long-lived child whose stdio is the slave side of a new pseudo-terminal; the caller owns the master. */
  spawnTerminal(command: string, args: readonly string[], size: { rows: number; cols: number }): IPty;
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

  spawn(command: string, args: readonly string[], extraFds: readonly (number | 'pipe')[] = []): ChildProcessWithoutNullStreams {
    return spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe', ...extraFds] }) as ChildProcessWithoutNullStreams;
  }

  spawnTerminal(command: string, args: readonly string[], size: { rows: number; cols: number }): IPty {
    return spawnPty(command, [...args], {
      name: 'xterm-256color',
      rows: size.rows,
      cols: size.cols,
      env: process.env,
      // Bytes, not strings: the host decodes, and a multi-byte character may straddle two reads.
      encoding: null,
    });
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

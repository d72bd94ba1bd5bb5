import type { IPty } from '@lydell/node-pty';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import type { CommandResult, HostCommands } from '../host-commands.adapter';

/** For unit tests: records every command run (each succeeds with no output); spawning is not expected. */
export class RecordingHost implements HostCommands {
  readonly runs: string[][] = [];
  run(command: string, args: readonly string[]): Promise<CommandResult> {
    this.runs.push([command, ...args]);
    return Promise.resolve({ exitCode: 0, stdout: '', stderr: '' });
  }
  spawn(): ChildProcessWithoutNullStreams {
    throw new Error('not used');
  }
  spawnTerminal(): IPty {
    throw new Error('not used');
  }
}

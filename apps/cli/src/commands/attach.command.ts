import { constants } from 'node:os';
import { Command, Option } from 'commander';
import type { AttachOptions } from '@moat/sdk';
import { relay, type RelayEnd } from '../attach/attach.relay';
import { DEFAULT_DETACH_KEYS, detachKeys } from '../attach/detach-keys';
import type { CliContext } from '../context/cli.context';
import { noteCutShort } from '../output/cut-short';
import { keyValue } from './option-values';

interface AttachCommandOptions {
  tty: boolean;
  detachKeys: Uint8Array;
  cwd?: string;
  env?: Record<string, string>;
}

const MORE_HELP = `
With a TTY (the default when stdin is a terminal) the terminal is put in raw mode: every key
goes to the process, ^C included, and the window size follows the terminal's. The detach keys
(default ${DEFAULT_DETACH_KEYS}, as Docker's) end the attachment with exit code 0; that ends the
session, and its process with it: a session's process does not outlive its connection.
Without a TTY (--no-tty, or stdin not a terminal) stdin is streamed to the process and closed
at its end, and the process's stdout and stderr go to moat's.

Exit code: the process's; 128+n when a signal n killed it; 0 when detached.
`;

/** `moat attach <id> [-- command…]`: an interactive session on the terminal, exiting with the process's code. */
export function attachCommand(ctx: CliContext): Command {
  return new Command('attach')
    .description("an interactive session in a running sandbox's container: a shell on a real TTY unless told otherwise")
    .argument('<id>', 'the sandbox id')
    .argument('[command...]', 'the command and its arguments (after --), run without a shell (default: /bin/sh)')
    .option('--no-tty', 'no TTY: stdin streamed and closed at its end, stdout and stderr apart')
    .addOption(new Option('--detach-keys <keys>', 'the keys that detach (comma-separated; "" for none)').argParser(detachKeys).default(detachKeys(DEFAULT_DETACH_KEYS), DEFAULT_DETACH_KEYS))
    .option('--cwd <dir>', 'the working directory, an absolute path')
    .option('--env <KEY=VALUE>', 'an environment variable (repeatable)', keyValue)
    .addHelpText('after', MORE_HELP)
    .action(async (id: string, command: string[], options: AttachCommandOptions) => {
      const { terminal } = ctx.io;
      const raw = options.tty && terminal.stdinIsTty;
      const window = raw ? terminal.size() : undefined;
      const request: AttachOptions = {
        tty: raw,
        ...(command.length > 0 && { command }),
        ...(window && { window }),
        ...(options.cwd && { cwd: options.cwd }),
        ...(options.env && { env: options.env }),
      };
      const sandbox = await (await ctx.moat()).sandboxes.get(id);
      const end = await relay(await sandbox.attach(request), terminal, { raw, detachKeys: options.detachKeys });
      ctx.exitCode = exitCodeOf(end, ctx.io.stderr);
    });
}

function exitCodeOf(end: RelayEnd, stderr: (text: string) => void): number {
  if ('detached' in end) {
    stderr('\nmoat: detached; the session and its process have ended\n');
    return 0;
  }
  if ('signal' in end) {
    stderr(`\nmoat: ${end.signal}: the session and its process have ended\n`);
    return 128 + constants.signals[end.signal];
  }
  noteCutShort(end.exit, stderr);
  return end.exit.signal > 0 ? 128 + end.exit.signal : end.exit.exitCode;
}

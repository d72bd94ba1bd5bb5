import { Command } from 'commander';
import { bodyOf } from '@moat/sdk';
import type { CliContext } from '../context/cli.context';
import { noteCutShort } from '../output/cut-short';
import { count, keyValue } from './option-values';

interface ExecOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeout?: number;
}

/** `moat exec <id> -- cmd…`: the remote command's output, and its exit code as the CLI's. */
export function execCommand(ctx: CliContext): Command {
  return new Command('exec')
    .description("run a command in a running sandbox's container; exits with the command's exit code")
    .argument('<id>', 'the sandbox id')
    .argument('<command...>', 'the command and its arguments (after --), run without a shell')
    .option('--cwd <dir>', 'the working directory, an absolute path')
    .option('--env <KEY=VALUE>', 'an environment variable (repeatable)', keyValue)
    .option('--timeout <ms>', 'kill the command after this many milliseconds', count)
    .action(async (id: string, command: string[], options: ExecOptions) => {
      const moat = await ctx.moat();
      const body = {
        command,
        ...(options.cwd && { cwd: options.cwd }),
        ...(options.env && { env: options.env }),
        ...(options.timeout !== undefined && { timeoutMs: options.timeout }),
      };
      const result = await bodyOf(moat.api.POST('/v1/sandboxes/{id}/exec', { params: { path: { id } }, body }));
      if (ctx.printer.format === 'json') {
        ctx.printer.json(result);
      } else {
        ctx.io.stdout(result.stdout);
        ctx.io.stderr(result.stderr);
        noteCutShort(result, ctx.io.stderr);
      }
      ctx.exitCode = result.exitCode;
    });
}

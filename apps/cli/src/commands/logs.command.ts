import { Command } from 'commander';
import { sandboxLogs } from '@moat/sdk';
import type { CliContext } from '../context/cli.context';
import { count } from './option-values';

interface LogsOptions {
  follow?: boolean;
  since?: string;
  tail?: number;
}

/** `moat logs [-f] <id>`: the main process's output, each stream to its own; NDJSON with `-o json`. */
export function logsCommand(ctx: CliContext): Command {
  return new Command('logs')
    .description("print what a sandbox's main process wrote: its stdout to stdout, its stderr to stderr")
    .argument('<id>', 'the sandbox id')
    .option('-f, --follow', 'keep printing as the process writes, until its output ends')
    .option('--since <when>', 'only output since then: an RFC 3339 time, or a duration back from now (10s, 5m, 2h)')
    .option('--tail <lines>', 'only the last this many lines', count)
    .addHelpText('after', '\nWith --output json, one object per line: {"stream":"stdout|stderr","time":"<RFC 3339>","text":"…"}.')
    .action(async (id: string, options: LogsOptions) => {
      const moat = await ctx.moat();
      const printer = ctx.printer;
      for await (const chunk of sandboxLogs(moat.api, id, options)) {
        if (printer.format === 'json') printer.jsonLine(chunk);
        else ctx.io[chunk.stream](chunk.text);
      }
    });
}

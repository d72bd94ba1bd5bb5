import { Argument, Command } from 'commander';
import type { CliContext } from '../context/cli.context';
import { completionScript, SHELLS, type Shell } from '../completion/completion.script';

/** `moat completion bash|zsh`: the shell completion script, to eval or save. */
export function completionCommand(ctx: CliContext, program: Command): Command {
  return new Command('completion')
    .description('print the shell completion script: eval "$(moat completion bash)" in ~/.bashrc (zsh: ~/.zshrc)')
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
    .action((shell: Shell) => {
      ctx.io.stdout(completionScript(program, shell));
    });
}

import type { Command } from 'commander';
import type { Moat } from '@moat/sdk';
import type { CliContext } from '../context/cli.context';
import type { Column } from '../output/table';

/** `<parent> ls`: prints what `list` fetches, one row each. Returns the subcommand (for more options). */
export function listSubcommand<T>(
  ctx: CliContext,
  parent: Command,
  description: string,
  list: (moat: Moat) => Promise<readonly T[]>,
  columns: readonly Column<T>[],
): Command {
  return parent
    .command('ls')
    .description(description)
    .action(async () => ctx.printer.list(await list(await ctx.moat()), columns));
}

/**
 * `<parent> <name> <id>`: prints the one object `call` answers for that id — a read (`get`,
 * `usage`) or a change that answers with the changed object (`rm`, `cordon`, `suspend`…).
 */
export function idSubcommand<T>(
  ctx: CliContext,
  parent: Command,
  name: string,
  description: string,
  idOf: string,
  call: (moat: Moat, id: string) => Promise<T>,
  columns: readonly Column<T>[],
): Command {
  return parent
    .command(name)
    .description(description)
    .argument('<id>', `the ${idOf} id`)
    .action(async (id: string) => ctx.printer.one(await call(await ctx.moat(), id), columns));
}

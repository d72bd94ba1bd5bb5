import { Command, Option } from 'commander';
import { DRAIN_MODES, type DrainMode, type FleetNode } from '@moat/sdk';
import type { CliContext } from '../context/cli.context';
import { keyValues, timestamp } from '../output/cells';
import type { Column } from '../output/table';
import { idSubcommand, listSubcommand } from './resource-subcommands';

const NODE_COLUMNS: readonly Column<FleetNode>[] = [
  { header: 'ID', cell: (n) => n.id },
  { header: 'NAME', cell: (n) => n.name },
  { header: 'STATE', cell: (n) => n.state },
  { header: 'SANDBOXES', cell: (n) => String(n.sandboxCount) },
  { header: 'VCPUS', cell: (n) => `${n.allocated.vcpus}/${n.allocatable.vcpus}` },
  { header: 'MEMORY', cell: (n) => `${n.allocated.memoryMiB}/${n.allocatable.memoryMiB}Mi` },
  { header: 'ACCEL', cell: (n) => n.accel },
  { header: 'LABELS', cell: (n) => keyValues(n.labels) },
  { header: 'HEARTBEAT', cell: (n) => timestamp(n.lastHeartbeatAt) },
];

const CHANGES = [
  { name: 'cordon', description: 'stop placing sandboxes on a node' },
  { name: 'uncordon', description: 'place sandboxes on a node again' },
] as const;

/** `moat node ls|get|cordon|uncordon|drain` (admin). */
export function nodeCommand(ctx: CliContext): Command {
  const node = new Command('node').description('the fleet of nodes (admin token)');

  listSubcommand(ctx, node, 'list nodes', (moat) => moat.nodes.list(), NODE_COLUMNS);
  idSubcommand(ctx, node, 'get', 'show a node', 'node', (moat, id) => moat.nodes.get(id), NODE_COLUMNS);
  for (const { name, description } of CHANGES) {
    idSubcommand(ctx, node, name, description, 'node', (moat, id) => moat.nodes[name](id), NODE_COLUMNS);
  }
  node
    .command('drain')
    .description('cordon a node and empty it: replace recreates deployment replicas elsewhere (others keep running), migrate moves running sandboxes live')
    .argument('<id>', 'the node id')
    .addOption(new Option('--mode <mode>', "how (default: the control plane's, replace)").choices(DRAIN_MODES))
    .action(async (id: string, options: { mode?: DrainMode }) => {
      const moat = await ctx.moat();
      ctx.printer.one(await moat.nodes.drain(id, options.mode ? { mode: options.mode } : {}), NODE_COLUMNS);
    });

  return node;
}

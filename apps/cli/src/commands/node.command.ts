import { Command } from 'commander';
import { bodyOf, type FleetNode } from '@moat/sdk';
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
  { name: 'cordon', route: '/v1/nodes/{id}/cordon', description: 'stop placing sandboxes on a node' },
  { name: 'uncordon', route: '/v1/nodes/{id}/uncordon', description: 'place sandboxes on a node again' },
  { name: 'drain', route: '/v1/nodes/{id}/drain', description: "cordon a node and move its deployments' sandboxes elsewhere" },
] as const;

/** `moat node ls|get|cordon|uncordon|drain` (admin). */
export function nodeCommand(ctx: CliContext): Command {
  const node = new Command('node').description('the fleet of nodes (admin token)');

  listSubcommand(ctx, node, 'list nodes', (moat) => bodyOf(moat.api.GET('/v1/nodes')), NODE_COLUMNS);
  idSubcommand(ctx, node, 'get', 'show a node', 'node', (moat, id) => bodyOf(moat.api.GET('/v1/nodes/{id}', { params: { path: { id } } })), NODE_COLUMNS);
  for (const { name, route, description } of CHANGES) {
    idSubcommand(ctx, node, name, description, 'node', (moat, id) => bodyOf(moat.api.POST(route, { params: { path: { id } } })), NODE_COLUMNS);
  }

  return node;
}

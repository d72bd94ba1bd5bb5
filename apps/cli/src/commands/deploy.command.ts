import { Command, Option } from 'commander';
import { bodyOf, type CreateDeploymentRequest, type Deployment, type StrategyType } from '@moat/sdk';
import type { CliContext } from '../context/cli.context';
import { keyValues, orDash, timestamp } from '../output/cells';
import type { Column } from '../output/table';
import { count, keyValue } from './option-values';
import { idSubcommand, listSubcommand } from './resource-subcommands';

const STRATEGY_TYPES: readonly StrategyType[] = ['rolling', 'canary', 'blue-green', 'immediate'];

const DEPLOYMENT_COLUMNS: readonly Column<Deployment>[] = [
  { header: 'ID', cell: (d) => d.id },
  { header: 'NAME', cell: (d) => d.name },
  { header: 'STATE', cell: (d) => d.state },
  { header: 'TEMPLATE', cell: (d) => `${d.templateId}@${d.templateVersion}` },
  { header: 'REPLICAS', cell: (d) => (d.perNode ? 'per node' : String(d.replicas)) },
  { header: 'HEALTHY', cell: (d) => `${d.counts.healthy}/${d.counts.desired}` },
  { header: 'STRATEGY', cell: (d) => d.strategy.type },
  { header: 'SELECTOR', cell: (d) => keyValues(d.nodeSelector) },
  { header: 'ROLLOUT', cell: (d) => orDash(d.currentRolloutId) },
  { header: 'CREATED', cell: (d) => timestamp(d.createdAt) },
];

interface CreateOptions {
  template: string;
  version?: number;
  name?: string;
  replicas?: number;
  perNode?: boolean;
  selector?: Record<string, string>;
  strategy: StrategyType;
  canaryReplicas?: number;
  tenant?: string;
}

/** `moat deploy ls|get|create|rm`. */
export function deployCommand(ctx: CliContext): Command {
  const deploy = new Command('deploy').description('deployments: replicas of a template version, kept running and rolled out');

  listSubcommand(ctx, deploy, 'list deployments', (moat) => bodyOf(moat.api.GET('/v1/deployments')), DEPLOYMENT_COLUMNS);
  idSubcommand(ctx, deploy, 'get', 'show a deployment', 'deployment', (moat, id) => bodyOf(moat.api.GET('/v1/deployments/{id}', { params: { path: { id } } })), DEPLOYMENT_COLUMNS);

  deploy
    .command('create')
    .description('create a deployment of a template')
    .requiredOption('--template <id>', 'the template id')
    .option('--version <n>', 'the template version (default: its latest)', count)
    .option('--name <name>', 'its name (default: the template name)')
    .option('--replicas <n>', 'how many sandboxes', count)
    .option('--per-node', 'one sandbox on every node the selector matches, instead of --replicas')
    .option('--selector <KEY=VALUE>', 'only nodes with this label (repeatable)', keyValue)
    .addOption(new Option('--strategy <type>', 'how new versions roll out').choices(STRATEGY_TYPES).default('rolling'))
    .option('--canary-replicas <n>', 'canary replicas (canary strategy)', count)
    .option('--tenant <id>', 'the tenant it is for (admin token only)')
    .action(async (options: CreateOptions) => {
      const moat = await ctx.moat();
      const body: CreateDeploymentRequest = {
        templateId: options.template,
        strategy: { type: options.strategy, ...(options.canaryReplicas !== undefined && { canaryReplicas: options.canaryReplicas }) },
        ...(options.version !== undefined && { templateVersion: options.version }),
        ...(options.name && { name: options.name }),
        ...(options.replicas !== undefined && { replicas: options.replicas }),
        ...(options.perNode && { perNode: true }),
        ...(options.selector && { nodeSelector: options.selector }),
        ...(options.tenant && { tenantId: options.tenant }),
      };
      ctx.printer.one(await bodyOf(moat.api.POST('/v1/deployments', { body })), DEPLOYMENT_COLUMNS);
    });

  idSubcommand(
    ctx,
    deploy,
    'rm',
    'delete a deployment and its sandboxes',
    'deployment',
    (moat, id) => bodyOf(moat.api.DELETE('/v1/deployments/{id}', { params: { path: { id } } })),
    DEPLOYMENT_COLUMNS,
  );

  return deploy;
}

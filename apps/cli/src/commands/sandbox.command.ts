import { Command, Option } from 'commander';
import { SANDBOX_STATES, type CreateSandboxRequest, type ListSandboxesQuery, type NetworkModel, type Sandbox } from '@moat/sdk';
import type { CliContext } from '../context/cli.context';
import { keyValues, orDash, timestamp } from '../output/cells';
import type { Column } from '../output/table';
import { count, keyValue } from './option-values';
import { idSubcommand } from './resource-subcommands';

const NETWORK_MODELS: readonly NetworkModel[] = ['tcfilter', 'macvtap', 'bridge'];

const SANDBOX_COLUMNS: readonly Column<Sandbox>[] = [
  { header: 'ID', cell: (s) => s.id },
  { header: 'STATE', cell: (s) => s.state },
  { header: 'NODE', cell: (s) => orDash(s.nodeId) },
  { header: 'VCPUS', cell: (s) => String(s.vcpus) },
  { header: 'MEMORY', cell: (s) => `${s.memoryMiB}Mi` },
  { header: 'IMAGE', cell: (s) => orDash(s.image) },
  { header: 'IP', cell: (s) => orDash(s.ip) },
  { header: 'LABELS', cell: (s) => keyValues(s.labels) },
  { header: 'CREATED', cell: (s) => timestamp(s.createdAt) },
];

interface CreateOptions {
  vcpus?: number;
  memory?: number;
  image?: string;
  env?: Record<string, string>;
  label?: Record<string, string>;
  networkModel?: NetworkModel;
  tenant?: string;
  wait?: boolean;
  quiet?: boolean;
}

/** `moat sandbox create|ls|get|rm|hibernate|wake|fork|migrate`. */
export function sandboxCommand(ctx: CliContext): Command {
  const sandbox = new Command('sandbox').description('create, list, show and delete sandboxes');

  sandbox
    .command('create')
    .description('create a sandbox; it is pending until a node starts it')
    .argument('[command...]', "its container's command (after --), replacing the image's entrypoint and cmd")
    .option('--vcpus <n>', 'virtual CPUs', count)
    .option('--memory <MiB>', 'memory in MiB', count)
    .option('--image <ref>', 'the OCI image of its container, e.g. docker.io/library/alpine:3')
    .option('--env <KEY=VALUE>', 'an environment variable (repeatable)', keyValue)
    .option('--label <KEY=VALUE>', 'a label (repeatable)', keyValue)
    .addOption(new Option('--network-model <model>', 'how its network attaches').choices(NETWORK_MODELS))
    .option('--tenant <id>', 'the tenant it is for (admin token only)')
    .option('--wait', 'wait until it is running')
    .option('-q, --quiet', 'print the new id alone')
    .action(async (command: string[], options: CreateOptions) => {
      const moat = await ctx.moat();
      const request: CreateSandboxRequest = {
        ...(command.length > 0 && { command }),
        ...(options.vcpus !== undefined && { vcpus: options.vcpus }),
        ...(options.memory !== undefined && { memoryMiB: options.memory }),
        ...(options.image && { image: options.image }),
        ...(options.env && { env: options.env }),
        ...(options.label && { labels: options.label }),
        ...(options.networkModel && { networkModel: options.networkModel }),
        ...(options.tenant && { tenantId: options.tenant }),
      };
      const created = await moat.sandboxes.create(request);
      const info = options.wait ? await created.waitUntil('running') : created.info;
      if (options.quiet) ctx.io.stdout(`${info.id}\n`);
      else ctx.printer.one(info, SANDBOX_COLUMNS);
    });

  sandbox
    .command('ls')
    .description('list the sandboxes the token may see')
    .addOption(new Option('--state <state>', 'only those in this state').choices(SANDBOX_STATES))
    .option('--deployment <id>', 'only those of this deployment')
    .action(async (options: { state?: ListSandboxesQuery['state']; deployment?: string }) => {
      const moat = await ctx.moat();
      const sandboxes = await moat.sandboxes.list({ ...(options.state && { state: options.state }), ...(options.deployment && { deploymentId: options.deployment }) });
      ctx.printer.list(
        sandboxes.map((s) => s.info),
        SANDBOX_COLUMNS,
      );
    });

  idSubcommand(ctx, sandbox, 'get', 'show a sandbox', 'sandbox', async (moat, id) => (await moat.sandboxes.get(id)).info, SANDBOX_COLUMNS);
  idSubcommand(ctx, sandbox, 'rm', 'delete a sandbox (it is stopping, then gone)', 'sandbox', (moat, id) => moat.sandboxes.delete(id), SANDBOX_COLUMNS);
  idSubcommand(ctx, sandbox, 'hibernate', 'save a running rootfs-block sandbox on its node and release its VM (hibernating, then hibernated)', 'sandbox', (moat, id) => moat.sandboxes.hibernate(id), SANDBOX_COLUMNS);
  idSubcommand(ctx, sandbox, 'wake', 'run a hibernated sandbox again where it was (waking, then running)', 'sandbox', (moat, id) => moat.sandboxes.wake(id), SANDBOX_COLUMNS);

  sandbox
    .command('fork')
    .description('fork a running rootfs-block sandbox: clones on its node, each starting with its memory, processes and files')
    .argument('<id>', 'the sandbox id')
    .option('--count <n>', 'how many clones, 1 to 16 (the API refuses others)', count, 1)
    .action(async (id: string, options: { count: number }) => {
      const moat = await ctx.moat();
      const clones = await moat.sandboxes.fork(id, options.count);
      ctx.printer.list(
        clones.map((clone) => clone.info),
        SANDBOX_COLUMNS,
      );
    });

  sandbox
    .command('migrate')
    .description('move a running rootfs-block sandbox live to another node (migrating, then running there; or running where it was, with MIGRATION_FAILED)')
    .argument('<id>', 'the sandbox id')
    .option('--node <id>', 'the node to move it to (default: the scheduler chooses)')
    .action(async (id: string, options: { node?: string }) => {
      const moat = await ctx.moat();
      ctx.printer.one(await moat.sandboxes.migrate(id, options.node ? { nodeId: options.node } : {}), SANDBOX_COLUMNS);
    });

  return sandbox;
}

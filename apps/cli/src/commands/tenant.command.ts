import { Command } from 'commander';
import { bodyOf, type CreatedTenant, type Tenant, type TenantUsage } from '@moat/sdk';
import type { CliContext } from '../context/cli.context';
import { timestamp } from '../output/cells';
import type { Column } from '../output/table';
import { count } from './option-values';
import { idSubcommand, listSubcommand } from './resource-subcommands';

const TENANT_COLUMNS: readonly Column<Tenant>[] = [
  { header: 'ID', cell: (t) => t.id },
  { header: 'NAME', cell: (t) => t.name },
  { header: 'STATE', cell: (t) => t.state },
  { header: 'QUOTA', cell: (t) => `${t.quota.maxSandboxes} sandboxes, ${t.quota.maxVcpus} vCPUs, ${t.quota.maxMemoryMiB}Mi` },
  { header: 'CREATED', cell: (t) => timestamp(t.createdAt) },
];

const CREATED_COLUMNS: readonly Column<CreatedTenant>[] = [
  ...TENANT_COLUMNS,
  { header: 'API KEY', cell: (t) => `${t.apiKey} (shown once: keep it)` },
];

const USAGE_COLUMNS: readonly Column<TenantUsage>[] = [
  { header: 'SANDBOXES', cell: (u) => `${u.sandboxes}/${u.quota.maxSandboxes}` },
  { header: 'VCPUS', cell: (u) => `${u.vcpus}/${u.quota.maxVcpus}` },
  { header: 'MEMORY', cell: (u) => `${u.memoryMiB}/${u.quota.maxMemoryMiB}Mi` },
];

const STATE_CHANGES = [
  { name: 'suspend', route: '/v1/tenants/{id}/suspend', description: 'suspend a tenant: its keys are refused until resumed' },
  { name: 'resume', route: '/v1/tenants/{id}/resume', description: 'resume a suspended tenant' },
] as const;

interface CreateOptions {
  maxSandboxes?: number;
  maxVcpus?: number;
  maxMemory?: number;
  quiet?: boolean;
}

/** `moat tenant ls|get|create|suspend|resume|usage` (admin). */
export function tenantCommand(ctx: CliContext): Command {
  const tenant = new Command('tenant').description('tenants and their quotas (admin token)');

  listSubcommand(ctx, tenant, 'list tenants', (moat) => bodyOf(moat.api.GET('/v1/tenants')), TENANT_COLUMNS);
  idSubcommand(ctx, tenant, 'get', 'show a tenant', 'tenant', (moat, id) => bodyOf(moat.api.GET('/v1/tenants/{id}', { params: { path: { id } } })), TENANT_COLUMNS);

  tenant
    .command('create')
    .description('create a tenant and its first API key')
    .argument('<name>', 'its name')
    .option('--max-sandboxes <n>', 'quota: sandboxes', count)
    .option('--max-vcpus <n>', 'quota: vCPUs', count)
    .option('--max-memory <MiB>', 'quota: memory in MiB', count)
    .option('-q, --quiet', 'print the API key alone')
    .action(async (name: string, options: CreateOptions) => {
      const moat = await ctx.moat();
      const quota = {
        ...(options.maxSandboxes !== undefined && { maxSandboxes: options.maxSandboxes }),
        ...(options.maxVcpus !== undefined && { maxVcpus: options.maxVcpus }),
        ...(options.maxMemory !== undefined && { maxMemoryMiB: options.maxMemory }),
      };
      const created = await bodyOf(moat.api.POST('/v1/tenants', { body: { name, ...(Object.keys(quota).length && { quota }) } }));
      if (options.quiet) ctx.io.stdout(`${created.apiKey}\n`);
      else ctx.printer.one(created, CREATED_COLUMNS);
    });

  for (const { name, route, description } of STATE_CHANGES) {
    idSubcommand(ctx, tenant, name, description, 'tenant', (moat, id) => bodyOf(moat.api.POST(route, { params: { path: { id } } })), TENANT_COLUMNS);
  }
  idSubcommand(
    ctx,
    tenant,
    'usage',
    "a tenant's usage against its quota",
    'tenant',
    (moat, id) => bodyOf(moat.api.GET('/v1/tenants/{id}/usage', { params: { path: { id } } })),
    USAGE_COLUMNS,
  );

  return tenant;
}

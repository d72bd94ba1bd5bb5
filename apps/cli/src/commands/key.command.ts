import { Command } from 'commander';
import { bodyOf, type ApiKey, type CreatedApiKey, type Moat } from '@moat/sdk';
import type { CliContext } from '../context/cli.context';
import { CliError } from '../errors/exit-codes';
import { orDash, timestamp } from '../output/cells';
import type { Column } from '../output/table';

const KEY_COLUMNS: readonly Column<ApiKey>[] = [
  { header: 'ID', cell: (k) => k.id },
  { header: 'NAME', cell: (k) => orDash(k.name) },
  { header: 'PREFIX', cell: (k) => k.prefix },
  { header: 'CREATED', cell: (k) => timestamp(k.createdAt) },
  { header: 'LAST USED', cell: (k) => timestamp(k.lastUsedAt) },
  { header: 'REVOKED', cell: (k) => timestamp(k.revokedAt) },
];

const CREATED_COLUMNS: readonly Column<CreatedApiKey>[] = [
  { header: 'ID', cell: (k) => k.id },
  { header: 'NAME', cell: (k) => orDash(k.name) },
  { header: 'KEY', cell: (k) => `${k.key} (shown once: keep it)` },
];

const TENANT_OPTION = ['--tenant <id>', "the tenant (default: the token's own; required with the admin token)"] as const;

/** `moat key ls|create|revoke`: a tenant's API keys. */
export function keyCommand(ctx: CliContext): Command {
  const key = new Command('key').description("a tenant's API keys");

  key
    .command('ls')
    .description('list API keys')
    .option(...TENANT_OPTION)
    .action(async (options: { tenant?: string }) => {
      const moat = await ctx.moat();
      const id = await tenantId(moat, options.tenant);
      ctx.printer.list(await bodyOf(moat.api.GET('/v1/tenants/{id}/api-keys', { params: { path: { id } } })), KEY_COLUMNS);
    });

  key
    .command('create')
    .description('create an API key')
    .option(...TENANT_OPTION)
    .option('--name <name>', 'what it is for')
    .option('-q, --quiet', 'print the key alone')
    .action(async (options: { tenant?: string; name?: string; quiet?: boolean }) => {
      const moat = await ctx.moat();
      const id = await tenantId(moat, options.tenant);
      const created = await bodyOf(moat.api.POST('/v1/tenants/{id}/api-keys', { params: { path: { id } }, body: { ...(options.name && { name: options.name }) } }));
      if (options.quiet) ctx.io.stdout(`${created.key}\n`);
      else ctx.printer.one(created, CREATED_COLUMNS);
    });

  key
    .command('revoke')
    .description('revoke an API key: it is refused from then on')
    .argument('<key-id>', 'the key id')
    .option(...TENANT_OPTION)
    .action(async (keyId: string, options: { tenant?: string }) => {
      const moat = await ctx.moat();
      const id = await tenantId(moat, options.tenant);
      await bodyOf(moat.api.DELETE('/v1/tenants/{id}/api-keys/{keyId}', { params: { path: { id, keyId } } }));
      ctx.printer.note(`revoked key ${keyId}`);
    });

  return key;
}

/** The tenant given, else the token's own; the admin token belongs to none. */
async function tenantId(moat: Moat, given: string | undefined): Promise<string> {
  if (given) return given;
  const me = await bodyOf(moat.api.GET('/v1/me'));
  if (me.kind === 'tenant') return me.tenant.id;
  throw new CliError('--tenant <id> is required with the admin token');
}

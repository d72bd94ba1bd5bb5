import { Command } from 'commander';
import { bodyOf, type components, type CreatedTemplateVersion, type TemplateDetail, type TemplateSpec, type TemplateSummary, type TemplateVersion } from '@moat/sdk';
import type { CliContext } from '../context/cli.context';
import { orDash, timestamp } from '../output/cells';
import type { Column } from '../output/table';
import { listSubcommand } from './resource-subcommands';
import { count } from './option-values';
import { readJsonObject } from './spec-file';

type CreateTemplateRequest = components['schemas']['CreateTemplateDto'];

const TEMPLATE_COLUMNS: readonly Column<TemplateSummary>[] = [
  { header: 'ID', cell: (t) => t.id },
  { header: 'NAME', cell: (t) => t.name },
  { header: 'LATEST', cell: (t) => String(t.latestVersion) },
  { header: 'TENANT', cell: (t) => t.tenantId },
  { header: 'CREATED', cell: (t) => timestamp(t.createdAt) },
];

const DETAIL_COLUMNS: readonly Column<TemplateDetail>[] = [
  ...(TEMPLATE_COLUMNS as readonly Column<TemplateDetail>[]),
  { header: 'VERSIONS', cell: (t) => t.versions.map((v) => v.version).join(',') },
];

const VERSION_COLUMNS: readonly Column<TemplateVersion>[] = [
  { header: 'VERSION', cell: (v) => String(v.version) },
  { header: 'IMAGE', cell: (v) => orDash(v.image) },
  { header: 'COMMAND', cell: (v) => (v.command ? v.command.join(' ') : '-') },
  { header: 'VCPUS', cell: (v) => String(v.vcpus) },
  { header: 'MEMORY', cell: (v) => `${v.memoryMiB}Mi` },
  { header: 'CREATED', cell: (v) => timestamp(v.createdAt) },
];

const CREATED_COLUMNS: readonly Column<CreatedTemplateVersion>[] = [
  { header: 'ID', cell: (v) => v.id },
  { header: 'NAME', cell: (v) => v.name },
  ...(VERSION_COLUMNS as readonly Column<CreatedTemplateVersion>[]),
];

/** `moat template ls|get|create|version`. */
export function templateCommand(ctx: CliContext): Command {
  const template = new Command('template').description('sandbox templates: versioned specs that deployments run');

  listSubcommand(ctx, template, 'list templates', (moat) => bodyOf(moat.api.GET('/v1/templates')), TEMPLATE_COLUMNS);

  template
    .command('get')
    .description('show a template, or one of its versions')
    .argument('<id>', 'the template id')
    .option('--version <n>', 'show this version', count)
    .action(async (id: string, options: { version?: number }) => {
      const moat = await ctx.moat();
      if (options.version === undefined) {
        ctx.printer.one(await bodyOf(moat.api.GET('/v1/templates/{id}', { params: { path: { id } } })), DETAIL_COLUMNS);
      } else {
        const version = await bodyOf(moat.api.GET('/v1/templates/{id}/versions/{version}', { params: { path: { id, version: options.version } } }));
        ctx.printer.one(version, VERSION_COLUMNS);
      }
    });

  template
    .command('create')
    .description('create a template, its version 1 from a spec file')
    .requiredOption('--file <spec.json>', 'the spec: {"image", "vcpus", "memoryMiB", "command"?, "env"?, …} (see docs/api.md)')
    .option('--name <name>', 'its name (else the spec\'s "name")')
    .option('--tenant <id>', 'the tenant it is for (admin token only)')
    .action(async (options: { file: string; name?: string; tenant?: string }) => {
      const moat = await ctx.moat();
      const spec = await readJsonObject<CreateTemplateRequest>(options.file);
      const body: CreateTemplateRequest = { ...spec, ...(options.name && { name: options.name }), ...(options.tenant && { tenantId: options.tenant }) };
      ctx.printer.one(await bodyOf(moat.api.POST('/v1/templates', { body })), CREATED_COLUMNS);
    });

  template
    .command('version')
    .description('add a version to a template from a spec file')
    .argument('<id>', 'the template id')
    .requiredOption('--file <spec.json>', 'the spec of the new version')
    .action(async (id: string, options: { file: string }) => {
      const moat = await ctx.moat();
      const body = await readJsonObject<TemplateSpec>(options.file);
      ctx.printer.one(await bodyOf(moat.api.POST('/v1/templates/{id}/versions', { params: { path: { id } }, body })), CREATED_COLUMNS);
    });

  return template;
}

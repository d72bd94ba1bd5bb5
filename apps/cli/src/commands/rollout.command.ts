import { Command } from 'commander';
import { bodyOf, type Moat, type Rollout, type RolloutAction } from '@moat/sdk';
import type { CliContext } from '../context/cli.context';
import { ExitCode } from '../errors/exit-codes';
import { orDash, timestamp } from '../output/cells';
import { progressLine, rolloutEnded } from '../output/rollout-progress';
import type { Column } from '../output/table';
import { count } from './option-values';

const WATCH_INTERVAL_MS = 1_000;
const ACTIONS: readonly { action: RolloutAction; description: string }[] = [
  { action: 'pause', description: 'pause a rollout between steps' },
  { action: 'resume', description: 'resume a paused rollout' },
  { action: 'abort', description: 'abort a rollout: the deployment returns to the version it started from' },
  { action: 'promote', description: 'promote a canary or blue-green rollout to all replicas' },
];

const ROLLOUT_COLUMNS: readonly Column<Rollout>[] = [
  { header: 'ID', cell: (r) => r.id },
  { header: 'DEPLOYMENT', cell: (r) => r.deploymentId },
  { header: 'VERSIONS', cell: (r) => `${r.fromVersion}→${r.toVersion}` },
  { header: 'STRATEGY', cell: (r) => r.strategy.type },
  { header: 'STATE', cell: (r) => r.state },
  { header: 'PROGRESS', cell: (r) => `${r.progress.healthy}/${r.progress.desired} healthy` },
  { header: 'REASON', cell: (r) => orDash(r.reason) },
  { header: 'CREATED', cell: (r) => timestamp(r.createdAt) },
  { header: 'FINISHED', cell: (r) => timestamp(r.finishedAt) },
];

/** `moat rollout start|ls|status [-w]|pause|resume|abort|promote`. */
export function rolloutCommand(ctx: CliContext): Command {
  const rollout = new Command('rollout').description("rollouts: a deployment's move to another template version");

  rollout
    .command('start')
    .description('roll a deployment out to a template version')
    .argument('<deployment-id>', 'the deployment id')
    .requiredOption('--version <n>', 'the template version to roll out', count)
    .action(async (deploymentId: string, options: { version: number }) => {
      const moat = await ctx.moat();
      const started = await bodyOf(
        moat.api.POST('/v1/deployments/{id}/rollouts', { params: { path: { id: deploymentId } }, body: { templateVersion: options.version } }),
      );
      ctx.printer.one(started, [{ header: 'ID', cell: (r) => r.id }]);
      ctx.printer.note(`follow it: moat rollout status ${started.id} -w`);
    });

  rollout
    .command('ls')
    .description("list a deployment's rollouts")
    .argument('<deployment-id>', 'the deployment id')
    .action(async (deploymentId: string) => {
      const moat = await ctx.moat();
      ctx.printer.list(await bodyOf(moat.api.GET('/v1/deployments/{id}/rollouts', { params: { path: { id: deploymentId } } })), ROLLOUT_COLUMNS);
    });

  rollout
    .command('status')
    .description(`show a rollout; with -w, its live progress until it ends (exit ${ExitCode.OK} completed, ${ExitCode.WAIT_FAILED} rolled back or failed)`)
    .argument('<id>', 'the rollout id')
    .option('-w, --watch', 'follow its progress until it ends')
    .action(async (id: string, options: { watch?: boolean }) => {
      const moat = await ctx.moat();
      const current = options.watch ? await watch(ctx, moat, id) : await getRollout(moat, id);
      ctx.printer.one(current, ROLLOUT_COLUMNS);
      if (options.watch && current.state !== 'completed') ctx.exitCode = ExitCode.WAIT_FAILED;
    });

  for (const { action, description } of ACTIONS) {
    rollout
      .command(action)
      .description(description)
      .argument('<id>', 'the rollout id')
      .action(async (id: string) => {
        const moat = await ctx.moat();
        ctx.printer.one(await bodyOf(moat.api.POST('/v1/rollouts/{id}/{action}', { params: { path: { id, action } } })), ROLLOUT_COLUMNS);
      });
  }

  return rollout;
}

function getRollout(moat: Moat, id: string): Promise<Rollout> {
  return bodyOf(moat.api.GET('/v1/rollouts/{id}', { params: { path: { id } } }));
}

/**
 * Polls the rollout until it ends, showing its progress line on stderr (stdout keeps the
 * final rollout, for scripts): rewritten in place on a terminal, a line per change otherwise.
 */
async function watch(ctx: CliContext, moat: Moat, id: string): Promise<Rollout> {
  let shown = '';
  for (;;) {
    const current = await getRollout(moat, id);
    const line = progressLine(current);
    if (line !== shown) {
      ctx.io.stderr(ctx.io.isTty ? `\r\x1b[2K${line}` : `${line}\n`);
      shown = line;
    }
    if (rolloutEnded(current)) {
      if (ctx.io.isTty) ctx.io.stderr('\n');
      return current;
    }
    await ctx.io.sleep(WATCH_INTERVAL_MS);
  }
}

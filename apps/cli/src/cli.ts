import { Command, CommanderError, Option } from 'commander';
import { MoatApiError, MoatAttachError, MoatClientError } from '@moat/sdk';
import { CliContext, type CliIo, type GlobalOptions } from './context/cli.context';
import { attachCommand } from './commands/attach.command';
import { completionCommand } from './commands/completion.command';
import { deployCommand } from './commands/deploy.command';
import { cpCommand } from './commands/cp.command';
import { execCommand } from './commands/exec.command';
import { keyCommand } from './commands/key.command';
import { loginCommand } from './commands/login.command';
import { logsCommand } from './commands/logs.command';
import { nodeCommand } from './commands/node.command';
import { rolloutCommand } from './commands/rollout.command';
import { sandboxCommand } from './commands/sandbox.command';
import { templateCommand } from './commands/template.command';
import { tenantCommand } from './commands/tenant.command';
import { CliError, ExitCode } from './errors/exit-codes';
import { OUTPUT_FORMATS } from './output/printer';

const MORE_HELP = `
Configuration:
  moat login stores the API URL and token in ~/.config/moat/config.json (mode 0600).
  MOAT_API_URL, MOAT_TOKEN and MOAT_TLS_CA (a PEM file of a private CA) override it.

Exit codes:
  ${ExitCode.OK}  done
  ${ExitCode.API_ERROR}  the API refused (the message starts with its error code) or could not be reached
  ${ExitCode.USAGE}  the command line was wrong, or not logged in
  ${ExitCode.WAIT_FAILED}  what was waited for ended badly (rollout status -w: rolled back or failed; sandbox create --wait; logs -f broke off)
  moat exec exits with the remote command's exit code.
  moat attach exits with the process's exit code (128+n when signal n killed it), 0 when detached.
`;

/** Runs the CLI on `args` (the arguments after `moat`) and resolves with its exit code. */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  const program = new Command('moat')
    .description('The command line of Moat: sandboxes, templates, deployments, rollouts, nodes, tenants and keys.')
    .addOption(new Option('-o, --output <format>', 'table for people, json for scripts (the API objects as they are)').choices(OUTPUT_FORMATS).default('table'))
    .addHelpText('after', MORE_HELP);
  const ctx = new CliContext(io, () => program.opts<GlobalOptions>());
  for (const command of [
    loginCommand(ctx),
    sandboxCommand(ctx),
    execCommand(ctx),
    attachCommand(ctx),
    cpCommand(ctx),
    logsCommand(ctx),
    templateCommand(ctx),
    deployCommand(ctx),
    rolloutCommand(ctx),
    nodeCommand(ctx),
    tenantCommand(ctx),
    keyCommand(ctx),
    completionCommand(ctx, program),
  ]) {
    program.addCommand(command);
  }
  configureTree(program, io);

  try {
    await program.parseAsync(args, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    return reportError(err, io);
  }
}

/** Every command throws instead of exiting, and writes through `io` (commander sets each one apart). */
function configureTree(command: Command, io: CliIo): void {
  command
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  for (const sub of command.commands) configureTree(sub, io);
}

/** Says what went wrong on stderr and gives the exit code for it; what nobody expects is thrown on. */
function reportError(err: unknown, io: CliIo): number {
  if (err instanceof CommanderError) {
    // Commander has written the message or the help already.
    return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
  }
  if (err instanceof MoatApiError) {
    io.stderr(`moat: ${err.code}: ${err.message} (HTTP ${err.status})\n`);
    return ExitCode.API_ERROR;
  }
  if (err instanceof MoatAttachError) {
    io.stderr(`moat: ${err.code}: ${err.message}\n`);
    return ExitCode.API_ERROR;
  }
  if (err instanceof MoatClientError) {
    io.stderr(`moat: ${err.code}: ${err.message}\n`);
    return ExitCode.WAIT_FAILED;
  }
  if (err instanceof CliError) {
    io.stderr(`moat: ${err.message}\n`);
    return err.exitCode;
  }
  if (isUnreachable(err)) {
    io.stderr(`moat: cannot reach the API: ${describeCause(err.cause)}\n`);
    return ExitCode.API_ERROR;
  }
  throw err;
}

/**
 * fetch's failure to connect: a TypeError whose cause is the socket's or TLS's error (by name:
 * undici's errors come from another realm than this module's Error under Jest).
 */
function isUnreachable(err: unknown): err is TypeError & { cause: unknown } {
  return typeof err === 'object' && err !== null && (err as Error).name === 'TypeError' && (err as Error).cause !== undefined;
}

function describeCause(cause: unknown): string {
  return typeof cause === 'object' && cause !== null && 'message' in cause ? String(cause.message) : String(cause);
}

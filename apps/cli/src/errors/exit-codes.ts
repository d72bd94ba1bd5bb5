/**
 * The exit codes scripts can rely on (documented in `moat --help` and docs/clients.md). `moat exec`
 * and `moat attach` exit with the remote command's exit code instead.
 */
export const ExitCode = {
  OK: 0,
  /** The API refused (the message carries its error code) or could not be reached. */
  API_ERROR: 1,
  /** The command line was wrong: unknown command or option, a bad value, not logged in. */
  USAGE: 2,
  /** What was waited for ended badly: a rollout rolled back or failed, a sandbox failed or was not running in time. */
  WAIT_FAILED: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A refusal of the CLI itself, with the exit code it ends with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.USAGE,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

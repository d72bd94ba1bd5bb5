/**
 * How a shell reports a command it could not run, for the reasons crun gives when it cannot
 * start an exec'd process: 127 for a command that is not there, 126 for one that cannot be
 * executed or whose working directory is missing (Docker answers the same). Undefined for a
 * failure that is not the caller's (crun itself broken), which stays an error.
 */
export function execFailureExitCode(crunReason: string): 126 | 127 | undefined {
  if (/executable file `[^`]*` not found/.test(crunReason) || /^exec(ve)?\b.*No such file or directory/m.test(crunReason)) return 127;
  if (/open executable: (Permission denied|Operation not permitted)/.test(crunReason)) return 126;
  if (/chdir `[^`]*`: (No such file or directory|Not a directory|Permission denied)/.test(crunReason)) return 126;
  return undefined;
}

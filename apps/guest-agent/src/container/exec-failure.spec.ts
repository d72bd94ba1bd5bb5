import { describe, expect, it } from '@jest/globals';
import { execFailureExitCode } from './exec-failure';

describe('execFailureExitCode', () => {
  it('answers as a shell would for the reasons crun gives', () => {
    expect(execFailureExitCode('executable file `/no/such` not found in $PATH: No such file or directory')).toBe(127);
    expect(execFailureExitCode('executable file `nosuchcmd` not found in $PATH: No such file or directory')).toBe(127);
    expect(execFailureExitCode('open executable: Permission denied')).toBe(126);
    expect(execFailureExitCode('open executable: Operation not permitted')).toBe(126);
    expect(execFailureExitCode('chdir `/nope`: No such file or directory')).toBe(126);
  });

  it('leaves a failure of crun itself an error', () => {
    expect(execFailureExitCode('error opening file `/run/crun/c1/status`: No such file or directory')).toBeUndefined();
    expect(execFailureExitCode('no error reported')).toBeUndefined();
  });
});

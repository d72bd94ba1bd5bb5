import { describe, expect, it } from '@jest/globals';
import { ShimError, ShimErrorCode } from '../errors/shim.error';
import { createLogger } from './logger';

describe('createLogger', () => {
  function capture(debug: boolean) {
    const lines: string[] = [];
    return { lines, log: createLogger({ write: (line) => lines.push(line), debug }) };
  }

  it('writes logrus-style text lines, quoting what needs it', () => {
    const { lines, log } = capture(false);
    log.with({ id: 'web' }).warn('mount failed', { error: new ShimError(ShimErrorCode.MOUNT_FAILED, 'no such device'), attempt: 2, path: '/run/moat/s' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^time=\d{4}-\d\d-\d\dT[\d:.]+Z level=warning msg="mount failed" id=web error="MOUNT_FAILED: no such device" attempt=2 path=\/run\/moat\/s\n$/,
    );
  });

  it('writes debug lines only with -debug', () => {
    const quiet = capture(false);
    quiet.log.debug('hidden');
    expect(quiet.lines).toEqual([]);
    const loud = capture(true);
    loud.log.debug('shown');
    expect(loud.lines[0]).toContain('level=debug msg=shown');
  });
});

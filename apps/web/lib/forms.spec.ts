import { describe, expect, it } from '@jest/globals';
import { formatKeyValueLines, parseKeyValueLines, parseQuota } from './forms';

describe('parseKeyValueLines', () => {
  it('reads KEY=VALUE lines, keeping "=" in values and skipping blanks and comments', () => {
    expect(parseKeyValueLines('FOO=bar\r\n\n# note\nURL=http://x/?a=b\nEMPTY=', 'Environment')).toEqual({
      values: { FOO: 'bar', URL: 'http://x/?a=b', EMPTY: '' },
      errors: [],
    });
  });

  it('reports malformed, invalid and duplicate keys by line', () => {
    expect(parseKeyValueLines('novalue\n1BAD=x\nA=1\nA=2', 'Environment').errors).toEqual([
      'Environment line 1: expected KEY=VALUE',
      'Environment line 2: "1BAD" is not a valid name',
      'Environment line 4: A is set twice',
    ]);
  });

  it('allows dotted and slashed label keys that are not variable names', () => {
    expect(parseKeyValueLines('moat.dev/zone=a', 'Labels').values).toEqual({ 'moat.dev/zone': 'a' });
  });

  it('round-trips through formatKeyValueLines', () => {
    const values = { A: '1', B: 'x=y' };
    expect(parseKeyValueLines(formatKeyValueLines(values), 'Environment').values).toEqual(values);
  });
});

describe('parseQuota', () => {
  it('leaves the default quota when all fields are blank', () => {
    expect(parseQuota({ maxSandboxes: '', maxVcpus: '', maxMemoryMiB: '' })).toEqual({ errors: [] });
  });

  it('reads all three limits', () => {
    expect(parseQuota({ maxSandboxes: '5', maxVcpus: '8', maxMemoryMiB: '4096' })).toEqual({
      quota: { maxSandboxes: 5, maxVcpus: 8, maxMemoryMiB: 4096 },
      errors: [],
    });
  });

  it('refuses a partial or malformed quota', () => {
    expect(parseQuota({ maxSandboxes: '5', maxVcpus: '', maxMemoryMiB: '' }).errors).toEqual([
      'Give all three quota limits, or none for the defaults',
    ]);
    expect(parseQuota({ maxSandboxes: '-1', maxVcpus: '1', maxMemoryMiB: '1' }).errors).toEqual([
      'Max sandboxes must be a whole number from 0 to 1000000',
    ]);
  });
});

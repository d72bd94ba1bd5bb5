import { describe, expect, it } from 'vitest';
import { buildCreateRequest, buildExecRequest, parseEnvLines } from './sandbox-form';

describe('parseEnvLines', () => {
  it('reads KEY=VALUE lines, keeping "=" in values and skipping blanks and comments', () => {
    expect(parseEnvLines('FOO=bar\r\n\n# note\nURL=http://x/?a=b\nEMPTY=')).toEqual({
      env: { FOO: 'bar', URL: 'http://x/?a=b', EMPTY: '' },
      errors: [],
    });
  });

  it('reports malformed, invalid and duplicate keys by line', () => {
    expect(parseEnvLines('novalue\n1BAD=x\nA=1\nA=2').errors).toEqual([
      'Environment line 1: expected KEY=VALUE',
      'Environment line 2: "1BAD" is not a valid variable name',
      'Environment line 4: A is set twice',
    ]);
  });
});

describe('buildCreateRequest', () => {
  it('leaves blank fields to the server defaults', () => {
    expect(buildCreateRequest({ vcpus: '', memoryMiB: ' ', env: '' })).toEqual({ request: {}, errors: [] });
  });

  it('builds a full request', () => {
    expect(buildCreateRequest({ vcpus: '2', memoryMiB: '1024', env: 'A=1' })).toEqual({
      request: { vcpus: 2, memoryMiB: 1024, env: { A: '1' } },
      errors: [],
    });
  });

  it('rejects values outside the control plane limits', () => {
    expect(buildCreateRequest({ vcpus: '0', memoryMiB: '1.5', env: '' }).errors).toEqual([
      'vCPUs must be a whole number from 1 to 64',
      'Memory must be a whole number from 64 to 262144',
    ]);
  });
});

describe('buildExecRequest', () => {
  it('splits on any whitespace and omits empty stdin', () => {
    expect(buildExecRequest('  uname\t -r ', '')).toEqual({ command: ['uname', '-r'] });
    expect(buildExecRequest('cat', 'hello\n')).toEqual({ command: ['cat'], stdin: 'hello\n' });
  });

  it('refuses an empty command', () => {
    expect(buildExecRequest('   ', 'x')).toBeNull();
  });
});

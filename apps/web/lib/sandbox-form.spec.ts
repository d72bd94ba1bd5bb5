import { describe, expect, it } from '@jest/globals';
import { buildCreateRequest, buildExecRequest, type NewSandboxFields } from './sandbox-form';

const blank: NewSandboxFields = { image: '', vcpus: '', memoryMiB: '', networkModel: '', rootfs: '', env: '' };

describe('buildCreateRequest', () => {
  it('leaves blank fields to the server defaults', () => {
    expect(buildCreateRequest({ ...blank, memoryMiB: ' ' })).toEqual({ request: {}, errors: [] });
  });

  it('builds a full request', () => {
    expect(
      buildCreateRequest({
        image: ' docker.io/library/alpine:3 ',
        vcpus: '2',
        memoryMiB: '1024',
        networkModel: 'macvtap',
        rootfs: 'block',
        env: 'A=1',
      }),
    ).toEqual({
      request: { image: 'docker.io/library/alpine:3', vcpus: 2, memoryMiB: 1024, networkModel: 'macvtap', rootfs: 'block', env: { A: '1' } },
      errors: [],
    });
  });

  it('rejects values outside the control plane limits', () => {
    expect(buildCreateRequest({ ...blank, vcpus: '0', memoryMiB: '1.5' }).errors).toEqual([
      'vCPUs must be a whole number from 1 to 64',
      'Memory must be a whole number from 64 to 262144',
    ]);
  });

  it('drops a network model or rootfs mode it does not know', () => {
    expect(buildCreateRequest({ ...blank, networkModel: 'slirp', rootfs: 'nfs' }).request).toEqual({});
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

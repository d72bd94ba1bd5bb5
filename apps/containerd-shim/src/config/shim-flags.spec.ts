import { describe, expect, it } from '@jest/globals';
import { parseShimFlags } from './shim-flags';

describe('parseShimFlags', () => {
  it('reads the command line containerd 1.6 builds for start', () => {
    const argv = ['-namespace', 'k8s.io', '-address', '/run/containerd/containerd.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'web', '-debug', 'start'];
    expect(parseShimFlags(argv)).toEqual({
      namespace: 'k8s.io',
      address: '/run/containerd/containerd.sock',
      publishBinary: '/usr/bin/containerd',
      id: 'web',
      bundle: '',
      socket: '',
      debug: true,
      version: false,
      action: 'start',
    });
  });

  it('reads delete with its -bundle', () => {
    const flags = parseShimFlags(['-namespace', 'default', '-address', '/a', '-publish-binary', '/c', '-id', 'web', '-bundle', '/b/web', 'delete']);
    expect(flags).toMatchObject({ id: 'web', bundle: '/b/web', action: 'delete', debug: false });
  });

  it('serves when no action is given, and defaults -publish-binary as Go shims do', () => {
    expect(parseShimFlags(['-namespace', 'default', '-id', 'web', '-socket', '/run/moat/s/x'])).toMatchObject({
      action: 'serve',
      socket: '/run/moat/s/x',
      publishBinary: 'containerd',
    });
  });

  it('takes Go flag spellings: --name, -name=value, and a boolean set or cleared inline', () => {
    expect(parseShimFlags(['--namespace=ns', '--id', 'x', '-debug=false', '--v'])).toMatchObject({ namespace: 'ns', id: 'x', debug: false, version: true });
    expect(parseShimFlags(['-debug=1', '-id=a=b'])).toMatchObject({ debug: true, id: 'a=b' });
  });

  it('ends the flags at the first other argument or at --', () => {
    expect(parseShimFlags(['-id', 'x', 'delete', '-debug'])).toMatchObject({ action: 'delete', debug: false });
    expect(parseShimFlags(['-id', 'x', '--', 'start'])).toMatchObject({ action: 'start' });
  });

  it('rejects an unknown flag, a flag without its value, a bad boolean and an unknown action', () => {
    expect(() => parseShimFlags(['-nope', 'x'])).toThrow('flag provided but not defined: -nope');
    expect(() => parseShimFlags(['-id'])).toThrow('flag needs an argument: -id');
    expect(() => parseShimFlags(['-debug=maybe'])).toThrow('invalid boolean value');
    expect(() => parseShimFlags(['-id', 'x', 'restart'])).toThrow('unknown action "restart"');
  });
});

import { describe, expect, it } from '@jest/globals';
import { loadShimConfig } from './shim.config';

const START = ['-namespace', 'default', '-address', '/run/containerd/containerd.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'web', 'start'];

describe('loadShimConfig', () => {
  it('finds the node agent, the socket dir and containerd’s ttrpc socket from the environment containerd passes on', () => {
    const config = loadShimConfig(START, { MOAT_RUN_DIR: '/run/moat-2', TTRPC_ADDRESS: '/run/containerd/containerd.sock.ttrpc' }, '/bundles/web');
    expect(config).toMatchObject({
      bundle: '/bundles/web',
      runDir: '/run/moat-2',
      socketDir: '/run/moat-2/s',
      ttrpcAddress: '/run/containerd/containerd.sock.ttrpc',
    });
  });

  it('defaults the run dir to /run/moat and containerd’s ttrpc socket to <-address>.ttrpc', () => {
    const config = loadShimConfig(START, {}, '/bundles/web');
    expect(config).toMatchObject({ runDir: '/run/moat', socketDir: '/run/moat/s', ttrpcAddress: '/run/containerd/containerd.sock.ttrpc' });
  });

  it('takes -bundle over the working directory', () => {
    expect(loadShimConfig([...START.slice(0, -1), '-bundle', '/other/web', 'delete'], {}, '/').bundle).toBe('/other/web');
  });

  it('lists every problem at once', () => {
    expect(() => loadShimConfig(['-address', '/a'], { MOAT_RUN_DIR: 'relative' }, '/')).toThrow(
      'shim namespace cannot be empty (-namespace); shim id cannot be empty (-id); serving needs -socket (containerd runs `start`, which passes it); MOAT_RUN_DIR must be an absolute path, not "relative"',
    );
  });

  it('needs nothing else for -v', () => {
    expect(loadShimConfig(['-v'], {}, '/').flags.version).toBe(true);
  });
});

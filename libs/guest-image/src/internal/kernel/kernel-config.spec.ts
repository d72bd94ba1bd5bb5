import { describe, expect, it } from '@jest/globals';
import { assertBootableConfig, parseKernelConfig, REQUIRED_BUILTIN_OPTIONS } from './kernel-config';

describe('kernel config', () => {
  const builtIn = REQUIRED_BUILTIN_OPTIONS.map((option) => `${option}=y`).join('\n');

  it('parses values and ignores "is not set" comments', () => {
    const config = parseKernelConfig('CONFIG_PVH=y\nCONFIG_VIRTIO_BLK=m\n# CONFIG_KERNEL_GZIP is not set\nCONFIG_LOCALVERSION=""\n');
    expect(config.get('CONFIG_VIRTIO_BLK')).toBe('m');
    expect(config.get('CONFIG_LOCALVERSION')).toBe('""');
    expect(config.has('CONFIG_KERNEL_GZIP')).toBe(false);
  });

  it('accepts a kernel that builds in everything the boot path needs', () => {
    expect(() => assertBootableConfig(parseKernelConfig(builtIn), '6.1.0-56-amd64')).not.toThrow();
  });

  it('names every required option that is missing or modular', () => {
    const config = parseKernelConfig(builtIn.replace('CONFIG_PVH=y', '# CONFIG_PVH is not set').replace('CONFIG_DEVTMPFS=y', 'CONFIG_DEVTMPFS=m'));
    expect(() => assertBootableConfig(config, 'x')).toThrow('kernel x does not build in CONFIG_PVH, CONFIG_DEVTMPFS');
  });
});

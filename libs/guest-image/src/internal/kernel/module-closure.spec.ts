import { describe, expect, it } from '@jest/globals';
import { GuestImageErrorCode } from '../../errors/guest-image.error';
import { moduleLoadOrder, moduleName, parseModulesBuiltin, parseModulesDep } from './module-closure';

// Lines as depmod writes them for Debian's 6.1 kernel (trimmed).
const MODULES_DEP = `kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/lib/crc16.ko:
kernel/fs/mbcache.ko:
kernel/fs/jbd2/jbd2.ko:
kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
kernel/net/9p/9pnet.ko:
kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
`;

describe('moduleName', () => {
  it('strips directories and compression suffixes and folds dashes', () => {
    expect(moduleName('kernel/fs/ext4/ext4.ko')).toBe('ext4');
    expect(moduleName('kernel/net/9p/9pnet_virtio.ko.xz')).toBe('9pnet_virtio');
    expect(moduleName('kernel/drivers/hid/hid-generic.ko.zst')).toBe('hid_generic');
  });
});

describe('moduleLoadOrder', () => {
  const modules = parseModulesDep(MODULES_DEP);

  it('puts every dependency before its dependents, each module once', () => {
    const order = moduleLoadOrder(modules, new Set(), ['virtio_pci', 'virtio_blk', 'ext4', '9pnet_virtio']);
    expect(order).toHaveLength(12);
    expect(new Set(order).size).toBe(order.length);
    for (const [, entry] of modules) {
      if (!order.includes(entry.path)) continue;
      for (const dep of entry.deps) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(entry.path));
    }
    expect(order).not.toContain('kernel/drivers/virtio/virtio_mmio.ko');
  });

  it('skips modules the kernel builds in', () => {
    const builtin = parseModulesBuiltin('kernel/drivers/block/virtio_blk.ko\n');
    expect(moduleLoadOrder(modules, builtin, ['virtio_blk'])).toEqual([]);
  });

  it('rejects a module the kernel does not have', () => {
    expect(() => moduleLoadOrder(modules, new Set(), ['virtiofs'])).toThrow(
      expect.objectContaining({ code: GuestImageErrorCode.MODULE_NOT_FOUND }),
    );
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { CommandResult } from '../host/host-commands.adapter';
import { RecordingHost } from '../host/testing/recording-host';
import { mountArgs, StorageMounter } from './storage.mounter';

const blk = { driver: 'blk', source: '/dev/vdb', fstype: 'ext4', options: [], mountPoint: '/run/moat/shared/rootfs' };

describe('StorageMounter with block devices', () => {
  let dir: string;
  let mountPoint: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-mounter-'));
    mountPoint = join(dir, 'rootfs');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('mounts an ext4 disk by its device path', () => {
    expect(mountArgs(blk)).toEqual(['-t', 'ext4', '/dev/vdb', '/run/moat/shared/rootfs']);
    expect(() => mountArgs({ ...blk, source: 'vdb' })).toThrow(/device path/);
  });

  it('waits for a disk whose device node appears late, then mounts it', async () => {
    const host = new RecordingHost();
    let probes = 0;
    const mounter = new StorageMounter(host, () => Promise.resolve(++probes > 3), 5_000);
    await expect(mounter.mountAll([{ ...blk, mountPoint }])).resolves.toEqual([mountPoint]);
    expect(probes).toBe(4);
    expect(host.runs).toEqual([['mount', '-t', 'ext4', '/dev/vdb', mountPoint]]);
  });

  it('gives up on a disk that never appears, naming it', async () => {
    const host = new RecordingHost();
    const mounter = new StorageMounter(host, () => Promise.resolve(false), 200);
    await expect(mounter.mountAll([{ ...blk, mountPoint }])).rejects.toThrow(/block device \/dev\/vdb did not appear within 200 ms/);
    expect(host.runs).toEqual([]);
  });
});

describe('StorageMounter with virtio-fs', () => {
  const virtiofs = { driver: 'virtiofs', source: 'moatfs', fstype: 'virtiofs', options: [] };
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-mounter-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** mount fails until the device's tag exists, as before a hot-plugged virtio-fs device has probed. */
  class LatePlugHost extends RecordingHost {
    constructor(private failures: number) {
      super();
    }
    override run(command: string, args: readonly string[]): Promise<CommandResult> {
      this.runs.push([command, ...args]);
      if (this.failures-- > 0) return Promise.resolve({ exitCode: 32, stdout: '', stderr: 'mount: mounting moatfs failed: No such file or directory' });
      return Promise.resolve({ exitCode: 0, stdout: '', stderr: '' });
    }
  }

  it('retries the mount of a share whose device is plugged in after the request arrives', async () => {
    const host = new LatePlugHost(2);
    const mountPoint = join(dir, 'shared');
    await expect(new StorageMounter(host, () => Promise.resolve(true), 5_000).mountAll([{ ...virtiofs, mountPoint }])).resolves.toEqual([mountPoint]);
    expect(host.runs).toHaveLength(3);
  });

  it('reports the mount error once the device wait is over', async () => {
    const host = new LatePlugHost(Number.POSITIVE_INFINITY);
    await expect(new StorageMounter(host, () => Promise.resolve(true), 150).mountAll([{ ...virtiofs, mountPoint: join(dir, 'shared') }])).rejects.toThrow(
      /No such file or directory/,
    );
  });
});

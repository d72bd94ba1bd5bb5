import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RuntimeErrorCode } from '../errors';
import { NodeProcessAdapter } from '../host/process.adapter';
import { BusyboxRootfs } from './busybox.rootfs';

describe('BusyboxRootfs', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rootfs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lays out busybox with applet links that resolve inside the tree', async () => {
    const root = join(dir, 'rootfs');
    await new BusyboxRootfs(new NodeProcessAdapter()).prepare(root);
    expect(statSync(join(root, 'bin/busybox')).mode & 0o111).not.toBe(0);
    for (const applet of ['bin/sh', 'usr/bin/env', 'bin/uname']) {
      const link = join(root, applet);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(resolve(dirname(link), readlinkSync(link))).toBe(join(root, 'bin/busybox'));
    }
    expect(statSync(join(root, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toMatch(/^root:x:0:0:/);
  });

  it('wraps a failure with the rootfs path', async () => {
    await expect(new BusyboxRootfs(new NodeProcessAdapter(), join(dir, 'no-busybox')).prepare(join(dir, 'r'))).rejects.toMatchObject({
      code: RuntimeErrorCode.ROOTFS_FAILED,
      message: expect.stringContaining(join(dir, 'r')),
    });
  });
});

import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ensureMountTargets } from './mount-targets';

describe('ensureMountTargets', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'targets-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the missing files empty and keeps what the image has', async () => {
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'etc', 'hosts'), '10.0.0.1 image\n');
    await ensureMountTargets(dir);
    expect(readFileSync(join(dir, 'etc', 'hostname'), 'utf8')).toBe('');
    expect(readFileSync(join(dir, 'etc', 'hosts'), 'utf8')).toBe('10.0.0.1 image\n');
    expect(lstatSync(join(dir, 'etc', 'resolv.conf')).isFile()).toBe(true);
  });

  it('never writes through an image symlink, in etc or of etc itself', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'outside-'));
    try {
      mkdirSync(join(dir, 'etc'));
      symlinkSync(join(outside, 'resolv.conf'), join(dir, 'etc', 'resolv.conf'));
      await ensureMountTargets(dir);
      expect(() => lstatSync(join(outside, 'resolv.conf'))).toThrow();
      const image2 = mkdtempSync(join(tmpdir(), 'targets-'));
      symlinkSync(outside, join(image2, 'etc'));
      await ensureMountTargets(image2);
      expect(() => lstatSync(join(outside, 'hosts'))).toThrow();
      rmSync(image2, { recursive: true, force: true });
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

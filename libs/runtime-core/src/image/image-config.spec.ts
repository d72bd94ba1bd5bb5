import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { RuntimeErrorCode } from '../errors/runtime.errors';
import { imageProcess } from './image-config';
import type { ImageConfigFile } from './registry.client';

let root: string;
const config = (c: NonNullable<ImageConfigFile['config']>): ImageConfigFile => ({ config: c, rootfs: { type: 'layers', diff_ids: [] } });

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'moat-image-config-'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nstaff:x:50:\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('imageProcess', () => {
  it('runs Entrypoint + Cmd with the image env, working dir and user', async () => {
    const process = await imageProcess(
      config({ Entrypoint: ['/app/run'], Cmd: ['--port', '80'], Env: ['A=1', 'URL=http://x/?q=1', 'broken'], WorkingDir: '/srv', User: 'app' }),
      root,
    );
    expect(process).toEqual({ args: ['/app/run', '--port', '80'], env: { A: '1', URL: 'http://x/?q=1' }, cwd: '/srv', user: { uid: 1000, gid: 1001 } });
  });

  it('lets a command replace Entrypoint and Cmd together', async () => {
    expect((await imageProcess(config({ Entrypoint: ['/app/run'], Cmd: ['x'] }), root, ['/bin/sh'])).args).toEqual(['/bin/sh']);
  });

  it.each([
    ['1000', { uid: 1000, gid: 1001 }],
    ['4242', { uid: 4242, gid: 0 }],
    ['app:staff', { uid: 1000, gid: 50 }],
    ['app:7', { uid: 1000, gid: 7 }],
    ['', { uid: 0, gid: 0 }],
  ])('resolves User %j', async (user, expected) => {
    expect((await imageProcess(config({ Cmd: ['x'], User: user }), root)).user).toEqual(expected);
  });

  it('names an unknown user or group', async () => {
    await expect(imageProcess(config({ Cmd: ['x'], User: 'ghost' }), root)).rejects.toThrow(/no user ghost/);
    await expect(imageProcess(config({ Cmd: ['x'], User: 'app:ghosts' }), root)).rejects.toThrow(/no group ghosts/);
  });

  it('refuses an image with nothing to run', async () => {
    await expect(imageProcess(config({}), root)).rejects.toMatchObject({ code: RuntimeErrorCode.INVALID_SPEC });
  });

  it("never reads a host file through the image's symlinks", async () => {
    rmSync(join(root, 'etc/passwd'));
    symlinkSync('/etc/passwd', join(root, 'etc/passwd'));
    // The host's passwd has a root entry; through the symlink, "root" would resolve.
    await expect(imageProcess(config({ Cmd: ['x'], User: 'root' }), root)).rejects.toThrow(/no user root/);
  });
});

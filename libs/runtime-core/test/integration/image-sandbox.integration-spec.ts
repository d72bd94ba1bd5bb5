import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { describeIf, processesMentioning } from '@moat/test-support';
import { SandboxRuntime } from '../../src';
import { accel, findGuestImage } from './support/guest-image';
import { APP_IMAGE_CONFIG, appLayer, busyboxLayer, REGISTRY_BINARY, startRegistry, type TestRegistry } from './support/registry';

const image = findGuestImage();

// One VM: the block rootfs is the path the shared-fs tests elsewhere do not cover (e2e runs all three kinds).
describeIf(image !== undefined && existsSync(REGISTRY_BINARY))('a sandbox from an OCI image on a block rootfs, in a real VM', () => {
  let registry: TestRegistry;
  let work: string;
  let runDir: string;
  let runtime: SandboxRuntime;
  const id = randomUUID();

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'moat-img-vm-'));
    runDir = mkdtempSync('/tmp/mr-');
    registry = await startRegistry();
    runtime = await SandboxRuntime.open({ dataDir: join(work, 'data'), runDir, guestImage: image!, accel, images: { maxCacheBytes: 0 } });
  });

  afterAll(async () => {
    await runtime?.delete(id).catch(() => undefined);
    await runtime?.close();
    for (const line of processesMentioning(id)) process.kill(Number(line.split(':')[0]), 'SIGKILL');
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });

  it('runs the entrypoint as the image user with its env and workdir; files are there and the rootfs is writable', async () => {
    const ref = await registry.push('moat/app', 'v1', {
      layers: [busyboxLayer(), appLayer()],
      config: APP_IMAGE_CONFIG,
    });
    const info = await runtime.create({ id, vcpus: 1, memoryMiB: 256, env: {}, image: ref, rootfs: 'block' });
    expect(info.error).toBeUndefined();
    expect(info).toMatchObject({ state: 'running', rootfs: 'block' });
    const run = async (command: string[]) => {
      const out = await runtime.exec(id, { command, timeoutMs: 30_000 });
      return { code: out.exitCode, out: out.stdout.toString().trim(), err: out.stderr.toString().trim() };
    };
    // The entrypoint may still be starting when exec is first possible.
    let marker = await run(['cat', '/home/app/marker']);
    for (let i = 0; i < 20 && marker.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 500));
      marker = await run(['cat', '/home/app/marker']);
    }
    expect(marker.out).toBe('hello from /home/app as 1000');
    expect(await run(['cat', '/app/data.txt'])).toMatchObject({ code: 0, out: 'shipped in the image' });
    expect(await run(['sh', '-c', 'echo written > /etc/new-file && cat /etc/new-file && grep " / " /proc/mounts'])).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^written\n\/dev\/vda \/ ext4 rw/) as unknown,
    });
    // exec inherits the image's environment and working directory.
    expect(await run(['sh', '-c', 'echo "$GREETING $(pwd)"'])).toMatchObject({ out: 'hello /home/app' });
  });

  it('releases the rootfs, the disk image and the layers on delete', async () => {
    await runtime.delete(id);
    expect(processesMentioning(id)).toEqual([]);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(work);
    expect(existsSync(join(work, 'data', 'sandboxes', id))).toBe(false);
    expect(readdirSync(join(work, 'data', 'images', 'layers'))).toEqual([]);
  });
});

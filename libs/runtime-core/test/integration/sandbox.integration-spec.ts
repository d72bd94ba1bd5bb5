import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { describeIf, processesMentioning } from '@moat/test-support';
import { AgentClient } from '../../src/agent/agent.client';
import { createAgentTransport } from '../../src/agent/transport/agent-transport.factory';
import { NodeProcessAdapter } from '../../src/host/process.adapter';
import { QemuHypervisor } from '../../src/hypervisor/qemu/qemu.hypervisor';
import { rootfsImageOf, SandboxRuntime, type RuntimeOptions } from '../../src';
import { accel, dataDirOfImages, findGuestImage } from './support/guest-image';

const image = findGuestImage();
if (!image) {
  console.warn(`sandbox integration tests skipped: no guest image under ${dataDirOfImages}/guest-images (build it with libs/guest-image)`);
}

describeIf(image !== undefined)('SandboxRuntime on real QEMU', () => {
  const guestImage = image!;
  let work: string;
  let dataDir: string;
  let runDir: string;
  const ids: string[] = [];
  const runtimes: SandboxRuntime[] = [];
  const newId = () => {
    const id = randomUUID();
    ids.push(id);
    return id;
  };
  const open = async (overrides: Partial<RuntimeOptions> = {}) => {
    const runtime = await SandboxRuntime.open({ dataDir, runDir, guestImage, accel, ...overrides });
    runtimes.push(runtime);
    return runtime;
  };

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'moat-it-'));
    dataDir = join(work, 'data');
    // Short, so socket paths stay far below the 108-byte limit.
    runDir = mkdtempSync('/tmp/mr-');
  });

  afterAll(async () => {
    // Release everything even when assertions failed: delete through a fresh runtime, then
    // kill whatever still names one of our sandboxes.
    const cleaner = await SandboxRuntime.open({ dataDir, runDir, guestImage, accel }).catch(() => undefined);
    for (const id of ids) await cleaner?.delete(id).catch(() => undefined);
    await cleaner?.close();
    for (const runtime of runtimes) await runtime.close();
    for (const id of ids) {
      for (const line of processesMentioning(id)) process.kill(Number(line.split(':')[0]), 'SIGKILL');
    }
    rmSync(work, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  });

  it('boots the generated QEMU command line and answers Health.Check over virtio-serial', async () => {
    const id = newId();
    const sandboxDir = join(work, 'raw', id);
    const sockets = join(runDir, id);
    mkdirSync(join(sandboxDir, 'shared'), { recursive: true });
    mkdirSync(sockets, { recursive: true });
    const paths = {
      consoleLog: join(sandboxDir, 'console.log'),
      socketDir: sockets,
      agentSocket: join(sockets, 'agent.sock'),
      qmpSocket: join(sockets, 'qmp.sock'),
      pidFile: join(sandboxDir, 'qemu.pid'),
    };
    const qemu = new QemuHypervisor(new NodeProcessAdapter());
    const pid = await qemu.start({
      sandboxId: id,
      accel: accel === 'kvm' ? 'kvm' : 'tcg',
      vcpus: 1,
      memoryMiB: 256,
      kernel: guestImage.kernel,
      initrd: guestImage.initrd,
      rootfsImage: rootfsImageOf(guestImage),
      sharedFs: { kind: '9p', hostPath: join(sandboxDir, 'shared'), mountTag: 'moatfs' },
      paths,
    });
    const agent = new AgentClient(createAgentTransport('virtio-serial', { agentSocket: paths.agentSocket, proxySocket: join(sockets, 'agent-proxy.sock') }));
    try {
      await agent.waitReady(90_000, () => qemu.guestFailure(pid, id, paths));
      await expect(agent.guestDetails()).resolves.toMatchObject({ kernelRelease: guestImage.kernelRelease });
    } finally {
      agent.close();
      await qemu.stop(pid, id, paths);
    }
    expect(processesMentioning(id)).toEqual([]);
  });

  describe('one sandbox through its life', () => {
    let runtime: SandboxRuntime;
    let id: string;

    beforeAll(async () => {
      runtime = await open();
      id = newId();
    });

    it('creates a running sandbox, timing each phase', async () => {
      const info = await runtime.create({ id, vcpus: 1, memoryMiB: 512, env: { GREETING: 'hello from the host' } });
      expect(info.error).toBeUndefined();
      expect(info).toMatchObject({ id, state: 'running', transport: 'virtio-serial', guest: { kernelRelease: guestImage.kernelRelease } });
      expect(info.timings.map((t) => t.phase)).toEqual(['rootfs', 'jail', 'sharefs', 'vmm', 'agent', 'sandbox', 'container']);
      console.info(`create ${info.accel}: ${info.timings.map((t) => `${t.phase}=${t.ms}ms`).join(' ')}`);
    });

    it('runs uname -r inside the guest kernel, not the host', async () => {
      // The host runs a different kernel from the image's, so this proves the exec ran in the VM.
      expect(release()).not.toBe(guestImage.kernelRelease);
      const out = await runtime.exec(id, { command: ['uname', '-r'] });
      expect(out.stdout.toString().trim()).toBe(guestImage.kernelRelease);
      expect(out.exitCode).toBe(0);
    });

    it('passes stdin, environment and exit codes through', async () => {
      const out = await runtime.exec(id, { command: ['sh', '-c', 'tr a-z A-Z; echo "$GREETING" >&2; exit 42'], stdin: Buffer.from('piped in') });
      expect(out).toMatchObject({ exitCode: 42, timedOut: false });
      expect(out.stdout.toString()).toBe('PIPED IN');
      expect(out.stderr.toString()).toBe('hello from the host\n');
    });

    it('kills a process that outlives its timeout', async () => {
      const out = await runtime.exec(id, { command: ['sleep', '60'], timeoutMs: 1_000 });
      expect(out.timedOut).toBe(true);
      expect(out.exitCode).toBe(137);
    });

    it('is re-adopted by a runtime reopened on the same data dir', async () => {
      await runtime.close();
      runtime = await open();
      expect(runtime.get(id)?.state).toBe('running');
      const out = await runtime.exec(id, { command: ['echo', 'still here'] });
      expect(out.stdout.toString()).toBe('still here\n');
    });

    it('delete leaves no process, socket dir or sandbox dir behind', async () => {
      await runtime.delete(id);
      expect(runtime.get(id)).toBeUndefined();
      expect(processesMentioning(id)).toEqual([]);
      expect(existsSync(join(runDir, id))).toBe(false);
      expect(existsSync(join(dataDir, 'sandboxes', id))).toBe(false);
    });
  });

  it('runs a sandbox on virtio-9p as well', async () => {
    const runtime = await open({ sharedFs: '9p' });
    const id = newId();
    const info = await runtime.create({ id, vcpus: 1, memoryMiB: 256, env: {} });
    expect(info.error).toBeUndefined();
    const out = await runtime.exec(id, { command: ['cat', '/etc/passwd'] });
    expect(out.stdout.toString()).toMatch(/^root:x:0:0:/);
    // Writes, modes and owners through the jailed QEMU's 9p server (which needs /proc/self/fd).
    const written = await runtime.exec(id, { command: ['sh', '-c', 'echo x > /new && mkdir /d && chmod 700 /d && chown 1000 /new && stat -c "%a %u %n" /d /new'] });
    expect(written.stderr.toString()).toBe('');
    expect(written.stdout.toString()).toBe('700 0 /d\n644 1000 /new\n');
    await runtime.delete(id);
    expect(processesMentioning(id)).toEqual([]);
  });

  it('reports a VM that cannot boot as failed, with the reason, and leaves nothing behind', async () => {
    const brokenDir = join(work, 'broken-image');
    mkdirSync(brokenDir, { recursive: true });
    const kernel = join(brokenDir, 'vmlinux');
    writeFileSync(kernel, Buffer.alloc(4096, 0x5a));
    copyFileSync(guestImage.initrd, join(brokenDir, 'initrd.img'));
    const runtime = await open({ guestImage: { ...guestImage, dir: brokenDir, kernel, initrd: join(brokenDir, 'initrd.img') } });
    const id = newId();
    const info = await runtime.create({ id, vcpus: 1, memoryMiB: 256, env: {} });
    expect(info.state).toBe('failed');
    expect(info.error?.code).toMatch(/^(VMM_START_FAILED|VM_BOOT_FAILED)$/);
    expect(info.error?.message).toMatch(/kernel|exited/i);
    expect(processesMentioning(id)).toEqual([]);
    expect(existsSync(join(runDir, id))).toBe(false);
    expect(existsSync(join(dataDir, 'sandboxes', id))).toBe(false);
  });
});

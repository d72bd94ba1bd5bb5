import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildGuestImage, type GuestImage, resolveGuestImage } from '../../src/index';

const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..');
const DATA_DIR = process.env.MOAT_DATA_DIR ?? join(REPO_ROOT, '.moat');
const AGENT_BUNDLE = join(REPO_ROOT, 'apps', 'guest-agent', 'dist', 'guest-agent.js');
const ACCEL = process.env.MOAT_ACCEL === 'kvm' ? 'kvm' : 'tcg';
const MARKER = 'MOAT-BENCH-MARKER';
const BOOT_TIMEOUT_MS = 120_000;

/** The host runtime's QEMU contract (libs/runtime-core), minus the agent socket and shares. */
function qemuArgs(image: GuestImage): string[] {
  return [
    '-machine', 'q35',
    '-accel', ACCEL,
    // Under KVM the default qemu64 model asks for features nested hosts may not expose.
    ...(ACCEL === 'kvm' ? ['-cpu', 'host'] : []),
    '-m', '256',
    '-smp', '1',
    '-nodefaults',
    '-no-user-config',
    '-display', 'none',
    '-serial', 'stdio',
    // A guest that panics must end the test, not reboot in a loop.
    '-no-reboot',
    '-kernel', image.kernel,
    '-initrd', image.initrd,
    '-append', 'console=ttyS0 root=/dev/vda panic=-1 moat.bench=1',
    '-drive', `file=${image.rootfs},if=none,id=rootfs,format=raw,readonly=on`,
    '-device', 'virtio-blk-pci,drive=rootfs',
  ];
}

describe('guest image', () => {
  let image: GuestImage;
  let qemu: ChildProcess | undefined;

  beforeAll(async () => {
    image = await buildGuestImage({ dataDir: DATA_DIR, agentBundle: AGENT_BUNDLE, log: (msg) => console.log(msg) });
  });

  afterAll(() => {
    if (qemu && qemu.exitCode === null && qemu.signalCode === null) qemu.kill('SIGKILL');
  });

  it('is reused, not rebuilt, when no input changed, and is what resolveGuestImage returns', async () => {
    const logs: string[] = [];
    const again = await buildGuestImage({ dataDir: DATA_DIR, agentBundle: AGENT_BUNDLE, log: (msg) => logs.push(msg) });
    expect(again).toEqual(image);
    expect(logs.join('\n')).toContain('reusing guest image');
    await expect(resolveGuestImage(DATA_DIR)).resolves.toEqual(image);
  });

  it(`boots under ${ACCEL} to where the agent would start, then powers itself off`, async () => {
    const started = Date.now();
    let output = '';
    let markerAt: number | undefined;
    const child = spawn('qemu-system-x86_64', qemuArgs(image), { stdio: ['ignore', 'pipe', 'pipe'] });
    qemu = child;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (markerAt === undefined && output.includes(MARKER)) markerAt = Date.now();
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));

    const exit = await new Promise<{ code: number | null; timedOut: boolean }>((resolveExit, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolveExit({ code: null, timedOut: true });
      }, BOOT_TIMEOUT_MS);
      child.on('error', reject);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolveExit({ code, timedOut: false });
      });
    });

    expect(output).toContain(MARKER);
    expect(output).not.toMatch(/moat-init: error|moat-rcS:|Kernel panic/);
    expect(exit).toEqual({ code: 0, timedOut: false });
    console.log(`${ACCEL}: marker after ${markerAt! - started} ms, QEMU exited after ${Date.now() - started} ms`);
  }, BOOT_TIMEOUT_MS + 10_000);
});

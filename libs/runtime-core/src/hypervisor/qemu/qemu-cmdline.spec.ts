import { describe, expect, it } from '@jest/globals';
import { expectGoldenFile } from '@moat/test-support';
import { qemuMachineFor, snapshotMachineFor } from './qemu.machine';
import { buildQemuArgv } from './qemu-cmdline';
import { jailQemu, JAIL_PATHS, NINEP_CAPABILITIES } from './qemu.jail';
import type { VmConfig } from '../hypervisor';

const ID = '3f0c8a9e-5b1d-4c2e-9f7a-1b2c3d4e5f60';

function config(overrides: Partial<VmConfig>): VmConfig {
  return {
    sandboxId: ID,
    accel: 'tcg',
    vcpus: 2,
    memoryMiB: 512,
    kernel: '/var/lib/moat/guest-images/g1/vmlinux',
    initrd: '/var/lib/moat/guest-images/g1/initrd.img',
    rootfsImage: { path: '/var/lib/moat/guest-images/g1/rootfs.ext4', bytes: 140 << 20 },
    sharedFs: { kind: '9p', hostPath: `/var/lib/moat/sandboxes/${ID}/shared`, mountTag: 'moatfs' },
    paths: {
      consoleLog: `/var/lib/moat/sandboxes/${ID}/console.log`,
      socketDir: `/run/moat/${ID}/vm`,
      agentSocket: `/run/moat/${ID}/vm/agent.sock`,
      qmpSocket: `/run/moat/${ID}/vm/qmp.sock`,
      pidFile: `/run/moat/${ID}/vmm.pid`,
      guestMemory: `/dev/shm/moat/${ID}.mem`,
    },
    ...overrides,
  };
}

/** One option and its value per line, so a golden diff points at the option that changed. */
function render(argv: string[]): string {
  const lines: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('-')) lines.push(arg);
    else lines[lines.length - 1] += ` ${arg}`;
  }
  return `${lines.join('\n')}\n`;
}

describe('buildQemuArgv', () => {
  it('matches the golden 9p machine under TCG', () => {
    expectGoldenFile(render(buildQemuArgv(qemuMachineFor(config({})))), '__golden__/qemu-9p-tcg.argv');
  });

  it('matches the golden virtio-fs machine under KVM', () => {
    const argv = buildQemuArgv(
      qemuMachineFor(config({ accel: 'kvm', sharedFs: { kind: 'virtiofs', socketPath: `/run/moat/${ID}/vm/virtiofsd.sock`, mountTag: 'moatfs' } })),
    );
    expectGoldenFile(render(argv), '__golden__/qemu-virtiofs-kvm.argv');
  });

  it('backs guest memory with a shared memfd only for virtio-fs, which vhost-user needs', () => {
    const ninep = buildQemuArgv(qemuMachineFor(config({})));
    const vfs = buildQemuArgv(qemuMachineFor(config({ sharedFs: { kind: 'virtiofs', socketPath: '/run/v.sock', mountTag: 'moatfs' } })));
    expect(ninep.join(' ')).not.toContain('memory-backend-memfd');
    expect(vfs).toContain('memory-backend-memfd,id=mem,size=512M,share=on');
    expect(vfs[vfs.indexOf('-numa') + 1]).toBe('node,memdev=mem');
  });

  it('maps the guest image rootfs read-only and shared as virtio-pmem, with room for it above the RAM', () => {
    const argv = buildQemuArgv(qemuMachineFor(config({})));
    expect(argv[argv.indexOf('-m') + 1]).toBe('512M,slots=1,maxmem=652M');
    expect(argv).toContain('memory-backend-file,id=rootfs,mem-path=/var/lib/moat/guest-images/g1/rootfs.ext4,size=146800640,share=on,readonly=on');
    expect(argv).toContain('virtio-pmem-pci,memdev=rootfs,id=rootfs-pmem');
    expect(argv[argv.indexOf('-append') + 1]).toContain('root=/dev/pmem0 rootfstype=ext4 rootflags=dax');
    expect(argv.join(' ')).not.toMatch(/virtio-blk|-drive/);
  });

  it('attaches a block rootfs as the one writable virtio-blk device (the guest mounts /dev/vda)', () => {
    const argv = buildQemuArgv(qemuMachineFor(config({ sharedFs: { kind: 'block', imagePath: `/var/lib/moat/sandboxes/${ID}/rootfs.ext4` } })));
    const drives = argv.filter((_, i) => argv[i - 1] === '-drive');
    expect(drives).toEqual([`file=/var/lib/moat/sandboxes/${ID}/rootfs.ext4,if=none,id=ctr-rootfs,format=raw`]);
    const blk = argv.filter((arg, i) => argv[i - 1] === '-device' && arg.startsWith('virtio-blk'));
    expect(blk).toEqual(['virtio-blk-pci,drive=ctr-rootfs']);
    expect(argv.join(' ')).not.toMatch(/virtio-9p|vhost-user-fs|memory-backend-memfd/);
  });

  it('doubles commas in paths so QEMU does not read them as option separators', () => {
    const argv = buildQemuArgv(qemuMachineFor(config({ rootfsImage: { path: '/images/a,b/rootfs.ext4', bytes: 2 << 20 } })));
    expect(argv).toContain('memory-backend-file,id=rootfs,mem-path=/images/a,,b/rootfs.ext4,size=2097152,share=on,readonly=on');
  });

  it('hands the NIC (a TAP or macvtap the node agent opened) to QEMU as fd 3, the first descriptor after stdio', () => {
    const argv = buildQemuArgv(qemuMachineFor(config({ network: { fd: 17, mac: '16:96:9d:9f:3a:26' } })));
    expect(argv[argv.indexOf('-netdev') + 1]).toBe('tap,id=net0,fd=3,vhost=off');
    expect(argv).toContain('virtio-net-pci,netdev=net0,mac=16:96:9d:9f:3a:26,romfile=');
    expectGoldenFile(render(argv), '__golden__/qemu-9p-tcg-nic.argv');
  });

  it('gives a sandbox without a network no NIC at all', () => {
    const argv = buildQemuArgv(qemuMachineFor(config({})));
    expect(argv).not.toContain('-netdev');
    expect(argv.join(' ')).not.toContain('virtio-net');
  });

  it('names the sandbox on the kernel command line and in argv, so leak checks find the VM', () => {
    const argv = buildQemuArgv(qemuMachineFor(config({})));
    expect(argv[argv.indexOf('-append') + 1]).toContain(`moat.sandbox=${ID}`);
    expect(argv[argv.indexOf('-name') + 1]).toBe(`moat-${ID},debug-threads=on`);
  });

  it('adds a vhost-vsock device with the guest CID only for the vsock transport', () => {
    const plain = buildQemuArgv(qemuMachineFor(config({})));
    expect(plain.join(' ')).not.toContain('vsock');
    const vsock = buildQemuArgv(qemuMachineFor(config({ vsockGuestCid: 4242 })));
    expect(vsock[vsock.indexOf('vhost-vsock-pci,id=vsock0,guest-cid=4242') - 1]).toBe('-device');
    // virtio-serial stays: the guest agent answers on both, the host picks one.
    expect(vsock.join(' ')).toContain('virtserialport');
  });

  describe('boot snapshots', () => {
    const snapshot = { state: '/var/lib/moat/boot-snapshots/k/state', memory: '/var/lib/moat/boot-snapshots/k/memory' };
    const vfs = { kind: 'virtiofs' as const, socketPath: `/run/moat/${ID}/vm/virtiofsd.sock`, mountTag: 'moatfs' };
    const nic = { fd: 17, mac: 'a6:24:a3:2c:d6:a1' };
    const devices = (argv: string[]) => argv.filter((_, i) => argv[i - 1] === '-device').map((d) => d.split(',')[0]);

    it('matches the golden snapshot machine: RAM in a shared file, empty root ports, a VM generation id', () => {
      const argv = buildQemuArgv(
        snapshotMachineFor({ vmId: 'snapshot-0123456789abcdef', accel: 'tcg', vcpus: 1, memoryMiB: 416, kernel: '/g/vmlinux', initrd: '/g/initrd.img', rootfsImage: { path: '/g/rootfs.ext4', bytes: 140 << 20 }, paths: config({}).paths }),
      );
      expectGoldenFile(render(argv), '__golden__/qemu-snapshot-tcg.argv');
    });

    it('restores into the same devices the snapshot machine has, waiting paused for the state', () => {
      const saved = buildQemuArgv(
        snapshotMachineFor({ vmId: 'snapshot-0123456789abcdef', accel: 'tcg', vcpus: 2, memoryMiB: 512, kernel: '/g/vmlinux', initrd: '/g/initrd.img', rootfsImage: { path: '/g/rootfs.ext4', bytes: 140 << 20 }, paths: config({}).paths }),
      );
      const restored = buildQemuArgv(qemuMachineFor(config({ sharedFs: vfs, network: nic, restoreFrom: snapshot })));
      // Device state only loads into an identical set of devices: the share and NIC are hot-plugged later.
      expect(devices(restored)).toEqual(devices(saved));
      expect(restored).toContain(`memory-backend-file,id=mem,size=512M,share=on,mem-path=/dev/shm/moat/${ID}.mem`);
      expect(restored.join(' ')).toContain('-S -incoming defer');
      expect(restored.join(' ')).not.toMatch(/vhost-user-fs|virtio-net|-netdev/);
      expect(saved.join(' ')).not.toContain('-incoming');
      expect(qemuMachineFor(config({ sharedFs: vfs, network: nic, restoreFrom: snapshot })).hotplug).toEqual({ share: vfs, nic: { fd: 3, mac: nic.mac } });
    });

    it('wakes a hibernated VM into the devices it was saved with: on the root ports where a restored one had them plugged', () => {
      const disk = { kind: 'block' as const, imagePath: `/var/lib/moat/sandboxes/${ID}/rootfs.ext4` };
      const wakeFrom = { state: { state: `/var/lib/moat/sandboxes/${ID}/hibernated.state` }, restoredLayout: true };
      const woken = buildQemuArgv(qemuMachineFor(config({ sharedFs: disk, network: nic, wakeFrom })));
      // A bus before what sits on it; ids and ports as plugSandboxDevices gives them.
      expect(devices(woken)).toEqual(['virtio-pmem-pci', 'virtio-serial-pci', 'virtserialport', 'pcie-root-port', 'pcie-root-port', 'vmgenid', 'virtio-blk-pci', 'virtio-net-pci']);
      expect(woken).toContain('virtio-blk-pci,drive=ctr-rootfs,id=share,bus=hp-share');
      expect(woken).toContain(`virtio-net-pci,netdev=net0,mac=${nic.mac},romfile=,id=nic0,bus=hp-nic`);
      expect(woken).toContain(`memory-backend-file,id=mem,size=512M,share=on,mem-path=/dev/shm/moat/${ID}.mem`);
      expect(woken.join(' ')).toContain('-S -incoming defer');
      // A cold-booted one: its devices where a boot puts them, its RAM anonymous, as it was.
      const cold = buildQemuArgv(qemuMachineFor(config({ sharedFs: disk, network: nic, wakeFrom: { ...wakeFrom, restoredLayout: false } })));
      expect(devices(cold)).toEqual(['virtio-pmem-pci', 'virtio-serial-pci', 'virtserialport', 'vmgenid', 'virtio-blk-pci', 'virtio-net-pci']);
      expect(cold.join(' ')).not.toMatch(/memory-backend-(file|memfd),id=mem/);
      expect(cold.join(' ')).toContain('-S -incoming defer');
      expect(() => qemuMachineFor(config({ sharedFs: vfs, wakeFrom }))).toThrow(/only a block rootfs can be saved/);
    });

    it('keeps a 9p share in the restored machine, as in its 9p snapshot (QEMU cannot hot-plug an fsdev)', () => {
      const saved = buildQemuArgv(
        snapshotMachineFor({ vmId: 'snapshot-0123456789abcdef', accel: 'tcg', vcpus: 2, memoryMiB: 512, kernel: '/g/vmlinux', initrd: '/g/initrd.img', rootfsImage: { path: '/g/rootfs.ext4', bytes: 140 << 20 }, ninepDir: '/empty', paths: config({}).paths }),
      );
      const restored = buildQemuArgv(qemuMachineFor(config({ restoreFrom: snapshot })));
      expect(devices(restored)).toEqual(devices(saved));
      expect(restored).toContain(`local,id=fs0,path=/var/lib/moat/sandboxes/${ID}/shared,security_model=none`);
    });
  });

  describe('in its jail', () => {
    const jailed = (overrides: Partial<VmConfig>, devices: string[] = []) =>
      jailQemu({ machine: qemuMachineFor(config(overrides)), socketDir: `/run/moat/${ID}/vm`, uid: 200_123, gid: 200_123, devices }, () => ({ gid: 993 }) as never);

    it('matches the golden jailed virtio-fs machine: jail paths only, and QEMU’s seccomp filter', () => {
      const { machine, spec } = jailed({ sharedFs: { kind: 'virtiofs', socketPath: `/run/moat/${ID}/vm/virtiofsd.sock`, mountTag: 'moatfs' }, network: { fd: 9, mac: 'a6:24:a3:2c:d6:a1' } });
      const argv = buildQemuArgv(machine);
      expectGoldenFile(render(argv), '__golden__/qemu-virtiofs-tcg-jailed.argv');
      expect(argv.join(' ')).not.toMatch(/\/var\/lib|\/run\/moat|\/dev\/shm/);
      expect(argv.slice(-2)).toEqual(['-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny']);
      expect(spec).toMatchObject({ uid: 200_123, gid: 200_123, groups: [], capabilities: [] });
      expect(spec.mounts).toEqual([
        { host: `/run/moat/${ID}/vm`, jail: JAIL_PATHS.sockets, access: 'rw' },
        { host: '/var/lib/moat/guest-images/g1/vmlinux', jail: JAIL_PATHS.kernel, access: 'ro' },
        { host: '/var/lib/moat/guest-images/g1/initrd.img', jail: JAIL_PATHS.initrd, access: 'ro' },
        { host: '/var/lib/moat/guest-images/g1/rootfs.ext4', jail: JAIL_PATHS.rootfsImage, access: 'ro' },
        { host: '/dev/null', jail: '/dev/null', access: 'dev' },
        { host: '/dev/zero', jail: '/dev/zero', access: 'dev' },
        { host: '/dev/urandom', jail: '/dev/urandom', access: 'dev' },
      ]);
    });

    it('binds a restored VM’s RAM file and the block disk it hot-plugs, read-write, and nothing of the snapshot', () => {
      const { machine, spec } = jailed({ sharedFs: { kind: 'block', imagePath: `/var/lib/moat/sandboxes/${ID}/rootfs.ext4` }, restoreFrom: { state: '/s/state', memory: '/s/memory' } });
      expect(machine.memory).toEqual({ kind: 'file', path: JAIL_PATHS.memory });
      expect(machine.hotplug?.share).toEqual({ kind: 'block', imagePath: JAIL_PATHS.disk });
      expect(spec.mounts).toEqual(
        expect.arrayContaining([
          { host: `/dev/shm/moat/${ID}.mem`, jail: JAIL_PATHS.memory, access: 'rw' },
          { host: `/var/lib/moat/sandboxes/${ID}/rootfs.ext4`, jail: JAIL_PATHS.disk, access: 'rw' },
        ]),
      );
      expect(spec.mounts.map((m) => m.host).join(' ')).not.toContain('/s/');
    });

    it('keeps only the file-server capabilities for 9p, which QEMU serves itself', () => {
      const { machine, spec } = jailed({});
      expect(machine.sharedFs).toEqual({ kind: '9p', hostPath: JAIL_PATHS.share, mountTag: 'moatfs' });
      expect(spec.capabilities).toEqual(NINEP_CAPABILITIES);
    });

    it('shows /dev/kvm and joins its group when the VM uses KVM', () => {
      const { spec } = jailed({ accel: 'kvm' }, ['/dev/kvm']);
      expect(spec.mounts).toContainEqual({ host: '/dev/kvm', jail: '/dev/kvm', access: 'dev' });
      expect(spec.groups).toEqual([993]);
    });

    it('refuses a socket outside the VM’s socket dir: it would not be in the jail', () => {
      expect(() => jailed({ sharedFs: { kind: 'virtiofs', socketPath: '/elsewhere/v.sock', mountTag: 'moatfs' } })).toThrow(/not in the VM's socket dir/);
    });
  });
});

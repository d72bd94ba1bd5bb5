import type { Readable, Writable } from 'node:stream';
import type { GuestImage } from '@moat/guest-image';
import type { Accel } from '../host/host-info';
import type { VmIsolation } from '../jail/isolation';
import type { SharedFsAttachment } from '../sharefs/shared-fs';

/** Host paths a VM uses; all of them are named with (or live under a dir named by) the sandbox id. */
export interface VmPaths {
  consoleLog: string;
  /** The VMM's sockets live here: the one directory a jailed VMM may write to. */
  socketDir: string;
  agentSocket: string;
  qmpSocket: string;
  /** The VMM's pid as the host sees it, written by the runtime (outside `socketDir`). */
  pidFile: string;
  /** How the VMM ended, written by its jail's monitor (outside `socketDir`); absent in states older than it. */
  statusFile?: string;
  /** The guest's RAM as a tmpfs file, for a VM restored from a boot snapshot (removed by `stop`). */
  guestMemory?: string;
}

/**
 * A saved VM to run on: its state (devices and RAM, a live migration's disk too) and the device
 * layout it must be woken into.
 */
export interface HibernatedVm {
  /** The files `hibernate` or `capture` wrote, or the stream a live migration's source sends as it runs (`migrateOut` on its node). */
  state: SavedVmFiles | { live: Readable };
  /** It was restored from a boot snapshot: its RAM is a shared file and its devices sit in the snapshot machine's root ports. */
  restoredLayout: boolean;
}

/**
 * Where a saved VM is kept: its migration stream, and its RAM beside it when the VM's RAM is a
 * shared file (a restored VM's): then the stream holds only the device state and a wake copies
 * the RAM back into its file, instead of loading every page, zero or not, through the stream.
 */
export interface SavedVmFiles {
  state: string;
  memory?: string;
}

/** What a live migration took. */
export interface LiveMigration {
  /** Bytes sent (RAM, disk, device state). */
  bytes: number;
  /** How long the guest was paused at the end, as QEMU measured it. */
  downtimeMs: number;
  totalMs: number;
}

/** A saved VM: its device state and its RAM (sparse). */
export interface BootSnapshotFiles extends SavedVmFiles {
  memory: string;
}

/** A read-only filesystem image file and its size (whole 2 MiB sections), the size of the device it backs. */
export interface RootfsImage {
  path: string;
  bytes: number;
}

export function rootfsImageOf(image: Pick<GuestImage, 'rootfs' | 'rootfsBytes'>): RootfsImage {
  return { path: image.rootfs, bytes: image.rootfsBytes };
}

/** Everything a VMM needs to boot one sandbox VM, independent of which VMM it is. */
export interface VmConfig {
  sandboxId: string;
  accel: Accel;
  vcpus: number;
  memoryMiB: number;
  kernel: string;
  initrd: string;
  /** The guest image's root filesystem, mapped into the guest read-only as virtio-pmem (/dev/pmem0). */
  rootfsImage: RootfsImage;
  /**
   * Absent only with `restoreFrom`: the VM is restored with nothing plugged in, and `plug` gives it
   * a sandbox's share and NIC later (a warm-pool VM).
   */
  sharedFs?: SharedFsAttachment;
  /** The VM's one NIC: the TAP or macvtap descriptor its network model opened, and its MAC; absent: no network. */
  network?: { fd: number; mac: string };
  paths: VmPaths;
  /** Adds a vsock device with this guest context id (the vsock agent transport). */
  vsockGuestCid?: number;
  /**
   * Restore this boot snapshot instead of booting: the guest resumes where the snapshot's agent
   * was waiting for its host, and the sandbox's share and NIC are hot-plugged (Kata's VM templating).
   */
  restoreFrom?: BootSnapshotFiles;
  /** Wake this hibernated VM instead of booting: its whole state is loaded and it runs on where it was saved. */
  wakeFrom?: HibernatedVm;
  /** The VM's jail and host cgroup; absent: neither (unit tests and tools that boot a guest directly). */
  isolation?: VmIsolation;
}

/**
 * A VM that boots to a serving agent and is saved as a boot snapshot: everything of VmConfig a
 * restored clone cannot change. A 9p share is part of it (QEMU cannot hot-plug an fsdev); its
 * directory is an empty one here and the sandbox's own in each clone.
 */
export interface SnapshotVmConfig extends Pick<VmConfig, 'accel' | 'vcpus' | 'memoryMiB' | 'kernel' | 'initrd' | 'rootfsImage' | 'paths' | 'isolation'> {
  /** Names the VMM process, like a sandbox id does. */
  vmId: string;
  ninepDir?: string;
}

/** A running VM: its VMM's pid, the id its VMM is named by, its paths and its jail. */
export interface RunningVm {
  pid: number;
  vmId: string;
  paths: VmPaths;
  isolation?: VmIsolation;
}

/** What a sandbox plugs into a VM that was started without it (a warm-pool VM). */
export interface SandboxDevices {
  /** Only virtio-fs: the other kinds need the VMM's command line or its jail's mounts. */
  sharedFs: SharedFsAttachment;
  network?: { fd: number; mac: string };
}

/** One VMM driver (Kata's `Hypervisor` trait). */
export interface Hypervisor {
  readonly kind: HypervisorKind;
  /** Starts the VMM detached from this process; resolves with its pid once it is running. */
  start(config: VmConfig): Promise<number>;
  /** Hot-plugs a sandbox's share and NIC into a running VM that was restored without them. */
  plug(vm: RunningVm, devices: SandboxDevices): Promise<void>;
  /** Asks the VMM to quit, kills it if it does not; idempotent. */
  stop(pid: number, sandboxId: string, paths: VmPaths): Promise<void>;
  /**
   * Kills every VMM (and its jail's monitor) of the sandbox that the runtime holds no pid of,
   * one a crash left between its launch and the record of its pid, and removes the VM's host
   * files (its RAM file, sockets). Before a start and on release, so a sandbox never has two
   * VMMs and a half-started one leaves nothing.
   */
  reap(sandboxId: string, paths: VmPaths): Promise<void>;
  /** True if `pid` is alive and is this sandbox's VMM (guards against pid reuse). */
  isRunning(pid: number, sandboxId: string): Promise<boolean>;
  /** Why the guest cannot make progress (VMM gone, guest panicked, emulation error), or undefined. */
  guestFailure(pid: number, sandboxId: string, paths: VmPaths): Promise<string | undefined>;
  /**
   * Boots `config` until its guest agent serves, then saves the VM into `files` and stops it.
   * Aborting `signal` stops the VM at once. Leaves nothing running either way.
   */
  saveBootSnapshot(config: SnapshotVmConfig, files: BootSnapshotFiles, signal: AbortSignal): Promise<void>;
  /**
   * Saves the running VM (memory, devices) into `saved` and leaves it paused, for the caller
   * to stop; a VM whose save failed runs on, and what was written of it is removed. The VM's
   * share must be a block disk and its agent channel not vsock: QEMU 7.2 migrates neither
   * vhost-user-fs, a mounted 9p share nor vhost-vsock's connections. `saved.memory` only for a
   * VM whose RAM is a file (a restored one).
   */
  hibernate(vm: RunningVm, saved: SavedVmFiles): Promise<void>;
  /**
   * Captures the running VM for a fork: saved into `saved` as `hibernate` saves it, its
   * writable disk copied to `disk.to` while it is paused (both show the same instant), and then
   * it runs on. A failed capture leaves it running too.
   */
  capture(vm: RunningVm, saved: SavedVmFiles, disk: { from: string; to: string }): Promise<void>;
  /**
   * Live-migrates the running VM into `sink` (pre-copy: its RAM and writable disk are sent while
   * it runs, then it is paused for the last dirty pages and device state), then asks `ran`
   * whether the target runs it. Resolves once it does: the VM is paused for good, for the caller
   * to stop. A migration that fails is cancelled, and one the target did not run (or whose
   * outcome is unknown) resumed: the VM runs on here either way.
   */
  migrateOut(vm: RunningVm, sink: Writable, ran: () => Promise<void>): Promise<LiveMigration>;
  /** How a VMM that is gone ended (`killed by signal 9 (SIGKILL)`), when known. */
  exitReason(paths: VmPaths): Promise<string | undefined>;
  /** What the VMM and its helpers take beyond the guest's RAM, in MiB: the VM's cgroup allows that much more. */
  memoryOverheadMiB(accel: Accel): number;
}

export type HypervisorKind = 'qemu';

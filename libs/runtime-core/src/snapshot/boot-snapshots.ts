import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../errors/runtime.errors';
import { fsyncPath, mkdirDurable, pathExists, removeTree, writeFileAtomic } from '../host/fs.helpers';
import type { BootSnapshotFiles, Hypervisor, SnapshotVmConfig, VmPaths } from '../hypervisor/hypervisor';
import { isolationStateSchema, type HostIsolation, type IsolationState } from '../jail/isolation';
import type { Log } from '../log/log.types';

/**
 * How the host talks to the agent of a VM restored from a boot snapshot, on every node. The
 * snapshot's VM has no vsock device: a guest CID would be frozen into its state and shared by
 * every clone, and each VM needs its own. Every guest agent serves its virtio-serial port, so
 * clones use that, and a vsock node keeps vsock for the VMs it boots cold.
 */
export const RESTORED_TRANSPORT = 'virtio-serial' as const;

/**
 * Everything a boot snapshot fixes about a VM: its size, accel and content-addressed guest image
 * files (so their paths name their content), and whether its share is 9p (part of the saved
 * machine; virtio-fs and block shares are hot-plugged). Two sandboxes of one shape can be
 * restored from one snapshot; all else about them (share, NIC, env, image) comes after.
 */
export type VmShape = Pick<SnapshotVmConfig, 'accel' | 'vcpus' | 'memoryMiB' | 'kernel' | 'initrd' | 'rootfsImage'> & { ninep: boolean };

export interface BootSnapshotsOptions {
  /** Where saved snapshots live (on disk: a few hundred MB of sparse RAM each). */
  dir: string;
  /** Short-path dir for the snapshot VM's sockets. */
  runDir: string;
  /** tmpfs dir for the snapshot VM's RAM while it boots. */
  memoryDir: string;
  /** At most this many shapes are kept; the least recently used goes first. */
  maxSnapshots: number;
  /** After a failed save, the shape is not tried again for this long. */
  retryAfterMs: number;
  hypervisor: Pick<Hypervisor, 'saveBootSnapshot' | 'isRunning' | 'stop' | 'memoryOverheadMiB'>;
  /** Snapshot VMs are jailed and fenced like sandboxes. */
  isolation: Pick<HostIsolation, 'acquire' | 'release' | 'vmm'>;
  log: Log;
}

const MANIFEST = 'manifest.json';
/** A build's fences, kept beside it so that a crashed build's are released too. */
const ISOLATION = 'isolation.json';
const BUILD_PREFIX = '.build-';
const VM_PREFIX = 'snapshot-';

/** Names a shape: a digest of every field, so a changed guest image or size is another snapshot. */
export function shapeKey(shape: VmShape): string {
  const canonical = JSON.stringify([shape.accel, shape.vcpus, shape.memoryMiB, shape.kernel, shape.initrd, shape.rootfsImage.path, shape.ninep]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

function snapshotFiles(dir: string): BootSnapshotFiles {
  return { state: join(dir, 'state'), memory: join(dir, 'memory') };
}

/**
 * Saved VMs to restore instead of booting (Kata's VM templating). A shape's first sandbox boots
 * cold and asks for its snapshot, which is then built in the background, one at a time: a VM
 * boots to a serving agent and is saved. Later sandboxes of the shape restore it.
 */
export class BootSnapshots {
  private readonly wanted = new Map<string, VmShape>();
  private readonly failedAt = new Map<string, number>();
  /** Requests still checking whether their snapshot exists. */
  private readonly requests = new Set<Promise<void>>();
  private building?: { key: string; done: Promise<void>; abort: AbortController };
  private closed = false;

  constructor(private readonly opts: BootSnapshotsOptions) {}

  /** Removes half-saved snapshots and stops snapshot VMs a crashed runtime left behind. */
  async recover(): Promise<void> {
    await mkdirDurable(this.opts.dir, 0o700);
    for (const name of await readdir(this.opts.dir)) {
      if (name.startsWith(BUILD_PREFIX)) await this.removeBuild(name.slice(BUILD_PREFIX.length));
    }
  }

  /** The saved snapshot of `shape`, or undefined. */
  async find(shape: VmShape): Promise<BootSnapshotFiles | undefined> {
    const dir = join(this.opts.dir, shapeKey(shape));
    if (!(await pathExists(join(dir, MANIFEST)))) return undefined;
    // The manifest's mtime is the snapshot's last use, for eviction.
    const now = new Date();
    await utimes(join(dir, MANIFEST), now, now).catch(() => undefined);
    return snapshotFiles(dir);
  }

  /**
   * Asks for a snapshot of `shape` to be saved in the background (after a VM of that shape
   * booted fine), unless one is saved, being saved, or recently failed to save. Resolves once
   * the request is queued, not once it is saved (see `idle`).
   */
  request(shape: VmShape): Promise<void> {
    const queued = this.queue(shape).finally(() => this.requests.delete(queued));
    this.requests.add(queued);
    return queued;
  }

  private async queue(shape: VmShape): Promise<void> {
    const key = shapeKey(shape);
    const failedAt = this.failedAt.get(key);
    if (failedAt !== undefined && Date.now() - failedAt < this.opts.retryAfterMs) return;
    const saved = await pathExists(join(this.opts.dir, key, MANIFEST));
    if (saved || this.closed || this.building?.key === key) return;
    this.wanted.set(key, shape);
    this.buildNext();
  }

  /** Forgets a snapshot that failed to restore (a QEMU upgrade, a damaged file); the next request rebuilds it. */
  async discard(files: BootSnapshotFiles): Promise<void> {
    const dir = join(files.state, '..');
    this.opts.log('warn', 'discarding a boot snapshot that did not restore', { dir });
    await removeTree(dir);
  }

  /** Resolves once nothing is being built or waiting to be. */
  async idle(): Promise<void> {
    while (this.requests.size > 0 || this.building) {
      await Promise.all(this.requests);
      await this.building?.done;
    }
  }

  /** Stops any build in progress (its VM included) and builds nothing more. */
  async close(): Promise<void> {
    this.closed = true;
    this.wanted.clear();
    this.building?.abort.abort();
    await this.idle();
  }

  private buildNext(): void {
    if (this.building || this.closed) return;
    const next = this.wanted.entries().next();
    if (next.done) return;
    const [key, shape] = next.value;
    this.wanted.delete(key);
    const abort = new AbortController();
    const done = this.build(key, shape, abort.signal).finally(() => {
      this.building = undefined;
      this.buildNext();
    });
    this.building = { key, done, abort };
  }

  private async build(key: string, shape: VmShape, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const buildDir = join(this.opts.dir, `${BUILD_PREFIX}${key}`);
    const { vmId, paths } = this.buildVm(key);
    try {
      await removeTree(buildDir);
      await mkdir(join(buildDir, 'ninep'), { recursive: true, mode: 0o700 });
      await mkdir(this.buildVm(key).runDir, { recursive: true, mode: 0o700 });
      const size = { vcpus: shape.vcpus, memoryMiB: shape.memoryMiB, overheadMiB: this.opts.hypervisor.memoryOverheadMiB(shape.accel) };
      const fences = await this.opts.isolation.acquire(vmId, paths.socketDir, size, (state) => writeFileAtomic(join(buildDir, ISOLATION), JSON.stringify(state)));
      signal.throwIfAborted();
      const files = snapshotFiles(buildDir);
      await this.opts.hypervisor.saveBootSnapshot({ ...this.vmConfig(key, shape, buildDir), isolation: this.opts.isolation.vmm(fences) }, files, signal);
      // The manifest marks a snapshot as whole, so what it vouches for is on disk before it is:
      // after a power cut a manifest beside a half-written RAM file would restore a broken guest.
      await Promise.all([fsyncPath(files.state), fsyncPath(files.memory)]);
      await writeFileAtomic(join(buildDir, MANIFEST), `${JSON.stringify({ key, shape, savedAt: new Date().toISOString() }, null, 2)}\n`);
      await removeTree(join(buildDir, 'ninep'));
      await this.releaseFences(key);
      const dir = join(this.opts.dir, key);
      await removeTree(dir);
      await rename(buildDir, dir);
      await fsyncPath(this.opts.dir);
      this.opts.log('info', 'boot snapshot saved', { key, shape, ms: Math.round(performance.now() - started) });
      await this.evict();
    } catch (error) {
      if (!signal.aborted) {
        this.failedAt.set(key, Date.now());
        this.opts.log('warn', 'saving a boot snapshot failed; sandboxes of this shape boot cold', { key, error: describeError(error) });
      }
    } finally {
      await this.removeBuild(key);
    }
  }

  private vmConfig(key: string, shape: VmShape, buildDir: string): SnapshotVmConfig {
    const { vmId, paths } = this.buildVm(key);
    return {
      vmId,
      accel: shape.accel,
      vcpus: shape.vcpus,
      memoryMiB: shape.memoryMiB,
      kernel: shape.kernel,
      initrd: shape.initrd,
      rootfsImage: shape.rootfsImage,
      ...(shape.ninep && { ninepDir: join(buildDir, 'ninep') }),
      paths,
    };
  }

  /** The snapshot VM of a build: its name and every host path it uses, derived from the key alone. */
  private buildVm(key: string): { vmId: string; runDir: string; paths: Required<VmPaths> } {
    // Named by this store's dir too: two node agents on one host share /run/moat and /dev/shm.
    const vmId = `${VM_PREFIX}${createHash('sha256').update(`${this.opts.dir}\0${key}`).digest('hex').slice(0, 16)}`;
    const runDir = join(this.opts.runDir, vmId);
    return {
      vmId,
      runDir,
      paths: {
        consoleLog: join(this.opts.dir, `${BUILD_PREFIX}${key}`, 'console.log'),
        socketDir: join(runDir, 'vm'),
        agentSocket: join(runDir, 'vm', 'agent.sock'),
        qmpSocket: join(runDir, 'vm', 'qmp.sock'),
        pidFile: join(runDir, 'vmm.pid'),
        statusFile: join(runDir, 'vmm.status'),
        guestMemory: join(this.opts.memoryDir, `${vmId}.mem`),
      },
    };
  }

  /** Removes what a build leaves outside its final dir, stopping its VM if a crash left it running. */
  private async removeBuild(key: string): Promise<void> {
    const { vmId, runDir, paths } = this.buildVm(key);
    const pid = Number.parseInt(await readFile(paths.pidFile, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(pid) && (await this.opts.hypervisor.isRunning(pid, vmId))) await this.opts.hypervisor.stop(pid, vmId, paths);
    await this.releaseFences(key);
    await Promise.all([removeTree(join(this.opts.dir, `${BUILD_PREFIX}${key}`)), removeTree(runDir), removeTree(paths.guestMemory)]);
  }

  /** Releases a build's jail uid and cgroup, from the record beside it. */
  private async releaseFences(key: string): Promise<void> {
    const file = join(this.opts.dir, `${BUILD_PREFIX}${key}`, ISOLATION);
    let fences: IsolationState;
    try {
      fences = isolationStateSchema.parse(JSON.parse(await readFile(file, 'utf8')));
    } catch {
      return;
    }
    await this.opts.isolation.release(this.buildVm(key).vmId, fences);
    await removeTree(file);
  }

  private async evict(): Promise<void> {
    const saved: { dir: string; usedAt: number }[] = [];
    for (const name of await readdir(this.opts.dir)) {
      if (name.startsWith(BUILD_PREFIX)) continue;
      const manifest = join(this.opts.dir, name, MANIFEST);
      const usedAt = await stat(manifest).then(
        (stats) => stats.mtimeMs,
        () => undefined,
      );
      if (usedAt !== undefined) saved.push({ dir: join(this.opts.dir, name), usedAt });
    }
    saved.sort((a, b) => b.usedAt - a.usedAt);
    for (const { dir } of saved.slice(this.opts.maxSnapshots)) {
      this.opts.log('info', 'evicting the least recently used boot snapshot', { dir });
      await removeTree(dir);
    }
  }
}

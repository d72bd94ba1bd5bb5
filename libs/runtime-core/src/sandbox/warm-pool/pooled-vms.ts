import { randomUUID } from 'node:crypto';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import type { Hypervisor } from '../../hypervisor/hypervisor';
import type { Accel } from '../../host/host-info';
import { RESTORED_TRANSPORT, type BootSnapshots } from '../../snapshot/boot-snapshots';
import type { SandboxEntry } from '../model/sandbox.entry';
import { newSandboxState, sandboxPaths, vmIdOf } from '../model/sandbox.state';
import type { GuestImage, PoolShape, RuntimeOptions, SandboxSpec } from '../model/sandbox.types';
import { vmShape } from '../steps/vmm.step';
import { WarmPool, type PoolVms } from './warm-pool';

/** Where the runtime keeps its VMs, and what every one of them is. */
export interface PoolVmSettings {
  dataDir: string;
  runDir: string;
  memoryDir: string;
  accel: Accel;
  guestImage: GuestImage;
}

/**
 * The runtime's warm pool, when one is asked for (`warmPool`) and this host can restore VMs
 * (boot snapshots on); undefined otherwise. It starts filling at once.
 */
export function openWarmPool(
  opts: PoolVmSettings & Pick<RuntimeOptions, 'warmPool' | 'log'>,
  deps: { lifecycle: PoolVmLifecycle; hypervisor: Pick<Hypervisor, 'isRunning'>; snapshots: Pick<BootSnapshots, 'find' | 'request' | 'idle'> | undefined },
): WarmPool<SandboxEntry> | undefined {
  const sizes = opts.warmPool ?? [];
  if (sizes.length === 0) return undefined;
  if (!deps.snapshots) {
    opts.log?.('warn', 'the warm pool is off: its VMs are restored from boot snapshots, which are off on this node');
    return undefined;
  }
  const { dataDir, runDir, memoryDir, accel, guestImage } = opts;
  const pool = new WarmPool(sizes, new PooledVms({ dataDir, runDir, memoryDir, accel, guestImage }, deps.lifecycle, deps.hypervisor, deps.snapshots), opts.log ?? (() => undefined));
  pool.open();
  return pool;
}

/** What starts and releases a pool VM: the runtime's lifecycle (its jail, restore and agent steps). */
export interface PoolVmLifecycle {
  startPooled(entry: SandboxEntry): Promise<void>;
  release(entry: SandboxEntry): Promise<void>;
}

/**
 * The runtime's warm-pool VMs: each is restored from its shape's boot snapshot under an id of
 * its own, jailed and with its agent connected, and persisted like a sandbox (`pooled: true`),
 * so a node agent that dies leaves nothing the next one does not release.
 */
export class PooledVms implements PoolVms<SandboxEntry> {
  constructor(
    private readonly settings: PoolVmSettings,
    private readonly lifecycle: PoolVmLifecycle,
    private readonly hypervisor: Pick<Hypervisor, 'isRunning'>,
    private readonly snapshots: Pick<BootSnapshots, 'find' | 'request' | 'idle'>,
  ) {}

  async start(shape: PoolShape): Promise<SandboxEntry> {
    const { dataDir, runDir, memoryDir, accel } = this.settings;
    const vmId = randomUUID();
    const state = newSandboxState(
      { id: vmId, vcpus: shape.vcpus, memoryMiB: shape.memoryMiB, env: {} },
      { pooled: true, accel, transport: RESTORED_TRANSPORT, sharedFsKind: 'virtiofs', paths: sandboxPaths(dataDir, runDir, vmId, memoryDir) },
    );
    // A pool VM is a restored one: its shape's snapshot is saved first (by a boot like any other).
    const snapshotShape = vmShape(state, this.settings.guestImage);
    if (!(await this.snapshots.find(snapshotShape))) {
      await this.snapshots.request(snapshotShape);
      await this.snapshots.idle();
      if (!(await this.snapshots.find(snapshotShape))) {
        throw new RuntimeError(RuntimeErrorCode.SNAPSHOT_FAILED, `no boot snapshot of ${shape.vcpus} vCPU, ${shape.memoryMiB} MiB could be saved yet`);
      }
    }
    const entry: SandboxEntry = { state, phase: 'creating' };
    await this.lifecycle.startPooled(entry);
    return entry;
  }

  async alive(entry: SandboxEntry): Promise<boolean> {
    const pid = entry.state.vmmPid;
    return pid !== undefined && (await this.hypervisor.isRunning(pid, vmIdOf(entry.state)));
  }

  release(entry: SandboxEntry): Promise<void> {
    return this.lifecycle.release(entry);
  }
}

/**
 * The sandbox `spec` on a warm-pool VM: it keeps the VM's id, jail, dirs, VMM and agent, and
 * acquires everything else (rootfs, share, network, devices plugged in, container) as usual.
 */
export function handOver(pooled: SandboxEntry, spec: SandboxSpec): SandboxEntry {
  return {
    phase: 'creating',
    agent: pooled.agent,
    state: { ...pooled.state, spec: structuredClone(spec), vmId: vmIdOf(pooled.state), pooled: undefined, timings: [] },
  };
}

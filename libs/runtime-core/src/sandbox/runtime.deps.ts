import { join } from 'node:path';
import { AgentClient, type AgentApi } from '../agent/agent.client';
import { chooseAgentTransport, type AgentTransport, type AgentTransportKind } from '../agent/transport/agent-transport';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import { kvmUsable, onTmpfs, vhostVsockUsable } from '../host/host-info';
import { copySparse, NodeProcessAdapter } from '../host/process.adapter';
import type { Hypervisor } from '../hypervisor/hypervisor';
import { createHypervisor } from '../hypervisor/factory/hypervisor.factory';
import { ImageStore } from '../image/image.store';
import { ProcessOverlayMarkers } from '../image/layer.unpacker';
import { RegistryClient } from '../image/registry.client';
import { SandboxNetworks } from '../network/sandbox-networks';
import { BusyboxRootfs } from '../rootfs/busybox.rootfs';
import { RootfsMounts } from '../rootfs/rootfs-mounts';
import { SandboxRootfs, type RootfsProvider } from '../rootfs/sandbox.rootfs';
import { createSharedFs } from '../sharefs/shared-fs.factory';
import type { SharedFs, SharedFsKind } from '../sharefs/shared-fs';
import { BootSnapshots } from '../snapshot/boot-snapshots';
import { detectCgroups } from '../jail/cgroups';
import { HostIsolation } from '../jail/isolation';
import { DEFAULT_JAIL_ID_RANGE, JailIds } from '../jail/jail-ids';
import type { IsolationPort } from './steps/jail.step';
import { DEFAULT_MEMORY_DIR } from './model/sandbox.state';
import type { RuntimeOptions } from './model/sandbox.types';

/** The host pieces a runtime drives; replaced by fakes in unit tests. */
export interface RuntimeDeps {
  hypervisor: Hypervisor;
  sharedFs: (kind: SharedFsKind) => SharedFs;
  rootfs: RootfsProvider;
  connectAgent: (transport: AgentTransport) => AgentApi;
  /** Copies a sandbox's disk for a clone (sparse). */
  copyDisk: (from: string, to: string) => Promise<void>;
  /** How new sandboxes reach their agent; default: the best the host offers (`chooseAgentTransport`). */
  agentTransport?: AgentTransportKind;
  /** How long a booting VM has to answer Health.Check; TCG boots are slow. */
  bootTimeoutMs: number;
  /** How long a re-adopted sandbox's agent has to answer after a runtime restart. */
  adoptTimeoutMs: number;
  /** Plumbs sandbox networks; absent when the runtime has no network options. */
  network?: Pick<SandboxNetworks, 'attach' | 'joinPod' | 'detach' | 'check' | 'releaseNicFd' | 'setOverlayPeers'>;
  /** Boot snapshots to restore VMs from; absent when they are off or the host cannot use them. */
  snapshots?: Pick<BootSnapshots, 'find' | 'request' | 'discard' | 'idle' | 'close'>;
  /** The VMs' jails and host cgroups. */
  isolation: IsolationPort;
  /** How often running VMMs are checked for having died; default 1 s. */
  watchdogIntervalMs?: number;
  /** How often running guest agents are asked whether they serve; default 5 s. */
  guestPingIntervalMs?: number;
}

export const DEFAULT_RUN_DIR = '/run/moat';
const DEFAULT_IMAGE_CACHE_BYTES = 10 * 1024 ** 3;
/** Boot snapshots kept per node (a few hundred MB of sparse RAM on disk each). */
const MAX_BOOT_SNAPSHOTS = 4;
const SNAPSHOT_RETRY_AFTER_MS = 10 * 60_000;

export const DEFAULT_JAIL_IDS_DIR = '/run/moat/jail-ids';

/** Jails from `MOAT_JAIL_ID_RANGE`'s uids and the host's cgroups (v2, or v1 where the host has only that). */
export async function openIsolation(opts: RuntimeOptions): Promise<HostIsolation> {
  const ids = new JailIds(opts.jailIdsDir ?? DEFAULT_JAIL_IDS_DIR, opts.jailIdRange ?? DEFAULT_JAIL_ID_RANGE);
  return new HostIsolation(opts.jail ?? true, ids, await detectCgroups(opts.cgroupParent ?? 'moat'));
}

/** The real host: QEMU, virtiofsd, the image store, the guest agent's gRPC client. */
export function defaultDeps(opts: RuntimeOptions): Omit<RuntimeDeps, 'isolation'> {
  const proc = new NodeProcessAdapter();
  const images = new ImageStore({
    dataDir: opts.dataDir,
    registry: new RegistryClient({ insecureRegistries: opts.images?.insecureRegistries, credentials: opts.images?.credentials }),
    markers: new ProcessOverlayMarkers(proc),
    maxCacheBytes: opts.images?.maxCacheBytes ?? DEFAULT_IMAGE_CACHE_BYTES,
    log: opts.log,
  });
  return {
    hypervisor: createHypervisor('qemu', proc),
    sharedFs: (kind) => createSharedFs(kind, proc),
    rootfs: new SandboxRootfs(new BusyboxRootfs(proc), images, new RootfsMounts(proc)),
    connectAgent: (transport) => new AgentClient(transport),
    copyDisk: (from, to) => copySparse(proc, from, to),
    bootTimeoutMs: 60_000,
    adoptTimeoutMs: 15_000,
  };
}

/**
 * Everything a runtime drives on this host: `deps` as given (unit tests' fakes), the rest the
 * real host's — its network, agent transport, jail and boot snapshots as `opts` and the host allow.
 */
export async function resolveDeps(opts: RuntimeOptions, deps: Partial<RuntimeDeps>): Promise<RuntimeDeps> {
  if (opts.accel === 'kvm' && !(await kvmUsable())) {
    throw new RuntimeError(RuntimeErrorCode.HOST_UNSUPPORTED, 'accel kvm requested but /dev/kvm cannot be opened read-write');
  }
  const network = opts.network && (await SandboxNetworks.create(opts.network));
  const agentTransport = deps.agentTransport ?? chooseAgentTransport({ hypervisor: 'qemu', vhostVsock: await vhostVsockUsable() });
  const defaults = defaultDeps(opts);
  const hypervisor = deps.hypervisor ?? defaults.hypervisor;
  const isolation = deps.isolation ?? (await openIsolation(opts));
  if (!isolation.jailed) opts.log?.('warn', 'VMMs run unjailed (MOAT_JAIL=false): as root, in the host namespaces, without seccomp; for debugging only');
  const snapshots = deps.snapshots ?? (await openBootSnapshots(opts, hypervisor, isolation));
  return { ...defaults, ...(network && { network }), ...(snapshots && { snapshots }), ...deps, isolation, agentTransport };
}

/** Boot snapshots, when asked for (the default) and usable on this host: guest RAM must go to tmpfs. */
export async function openBootSnapshots(
  opts: RuntimeOptions,
  hypervisor: Hypervisor,
  isolation: IsolationPort,
): Promise<BootSnapshots | undefined> {
  // Whatever the node's transport: a clone speaks virtio-serial (see RESTORED_TRANSPORT).
  if (opts.bootSnapshots === false) return undefined;
  const memoryDir = opts.memoryDir ?? DEFAULT_MEMORY_DIR;
  if (!(await onTmpfs(memoryDir))) {
    opts.log?.('warn', 'boot snapshots are off: guest memory dir is not on tmpfs', { memoryDir });
    return undefined;
  }
  const snapshots = new BootSnapshots({
    dir: join(opts.dataDir, 'boot-snapshots'),
    runDir: opts.runDir ?? DEFAULT_RUN_DIR,
    memoryDir,
    maxSnapshots: MAX_BOOT_SNAPSHOTS,
    retryAfterMs: SNAPSHOT_RETRY_AFTER_MS,
    hypervisor,
    isolation,
    log: opts.log ?? (() => undefined),
  });
  await snapshots.recover();
  return snapshots;
}

/**
 * `@moat/runtime-core`: everything one host needs to run sandbox microVMs — the QEMU driver,
 * shared filesystems and block rootfs, OCI images (pull, safe unpack, layer store), the default rootfs, the guest agent client and the sandbox lifecycle
 * with its on-disk state.
 */
export { SandboxRuntime } from './sandbox/sandbox.runtime';
export { DEFAULT_LOG_BUFFER_BYTES } from './sandbox/sandbox.lifecycle';
export { parseWarmPool } from './sandbox/warm-pool/warm-pool.config';
export { LOG_ENTRY_OVERHEAD_BYTES, type LogEntry, type LogPage, type LogQuery, type LogReader } from './sandbox/logs/log-ring';
export type { SavedSandboxFiles } from './sandbox/moves';
export type { LiveDeparture } from './sandbox/live-migration';
export type { LiveMigration } from './hypervisor/hypervisor';
export type {
  ContainerdTaskRef,
  ExecOptions,
  GuestImage,
  ImageOptions,
  PhaseTiming,
  PodContainerSpec,
  PodOptions,
  PoolShape,
  PoolSize,
  RuntimeOptions,
  SandboxInfo,
  SandboxIsolationInfo,
  SandboxPhaseState,
  SandboxSpec,
  ForkOf,
} from './sandbox/model/sandbox.types';
export { detectHost, type Accel, type HostInfo } from './host/host-info';
/** Crash-safe state files and the lock that keeps one node agent per data dir. */
export { mkdirDurable, writeFileAtomic } from './host/fs.helpers';
export { FileLock, FileLockError, FileLockErrorCode } from './host/file-lock';
export type { LogLevel } from './log/log.types';
export { MoatError, RuntimeError, RuntimeErrorCode } from './errors/runtime.errors';
export { parseIdRange, DEFAULT_JAIL_ID_RANGE, type IdRange } from './jail/jail-ids';
export type { SharedFsKind } from './sharefs/shared-fs';
export type { RegistryCredentials } from './image/registry.client';
export { parseImageReference, type ImageReference } from './image/image-reference';
/** OCI bundles (containerd's): the VM size their config.json asks for; OCI `KEY=value` env lists as maps. */
export { bundlePodRole, bundleSize, type BundleSize, type PodRole } from './rootfs/oci-bundle';
export { envMap } from './image/image-config';
export { AGENT_TRANSPORT_KINDS, chooseAgentTransport, type AgentTransportKind } from './agent/transport/agent-transport';
export type { ProcessSession, SessionOptions } from './agent/process-session';
export type { FileWriteOptions } from './agent/guest-files';
export type { ContainerFiles, FileDownload, FileUpload } from './sandbox/files/container-files';
export type { ContainerStats, ExecOutput, ExitInfo, OutputStream, WindowSize } from './agent/agent.types';
/** The QEMU command line builder and kernel parameters, for tools that boot the guest directly (benchmarks). */
export { buildQemuArgv, type QemuMachine } from './hypervisor/qemu/qemu-cmdline';
export { QEMU_BINARY } from './hypervisor/qemu/qemu.hypervisor';
export { rootfsImageOf } from './hypervisor/hypervisor';
export { isLoopbackHost } from './host/loopback';
export { guestKernelParams } from './hypervisor/qemu/qemu.machine';
/** A QMP client, for tools that drive a sandbox's VMM directly (the soak benchmark freezes guests). */
export { QmpClient } from './hypervisor/qemu/qmp.client';
/** Sandbox networking: CNI runner, network models, tenant networks. */
export { SandboxNetworks, netnsName, macForSandbox, type NetworkOptions } from './network/sandbox-networks';
export { type PlannedAddress, type PortMapping, type PortRequest, type NetworkState } from './network/network.types';
export { gatewayMac, type TenantPeers, type TenantPlan } from './network/tenants/tenant-networks';
export { DEFAULT_CONFLIST, loadConflist } from './network/cni/conflist';
export type { CniConflist } from './network/cni/cni.types';
export { NETWORK_MODELS, sandboxTapName, type NetworkModelKind } from './network/models/network-model';
export { NetworkError, NetworkErrorCode } from './errors/network.errors';
export { TenantOverlay, VXLAN_OVERHEAD, VXLAN_PORT, type OverlaySpec } from './network/overlay/tenant-overlay';

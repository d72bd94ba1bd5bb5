/**
 * `@moat/runtime-core`: everything one host needs to run sandbox microVMs — the QEMU driver,
 * shared filesystems and block rootfs, OCI images (pull, safe unpack, layer store), the default rootfs, the guest agent client and the sandbox lifecycle
 * with its on-disk state.
 */
export { SandboxRuntime } from './sandbox/sandbox.runtime';
export type {
  ExecOptions,
  ExecOutput,
  GuestImage,
  ImageOptions,
  LogLevel,
  PhaseTiming,
  RuntimeOptions,
  SandboxInfo,
  SandboxPhaseState,
  SandboxSpec,
} from './sandbox/sandbox.types';
export { detectHost, type HostInfo } from './host/host-info';
export { MoatError, RuntimeError, RuntimeErrorCode } from './errors';
export type { Accel } from './hypervisor/hypervisor';
export type { SharedFsKind } from './sharefs/shared-fs';
export type { RegistryCredentials } from './image/registry.client';
export { parseImageReference, type ImageReference } from './image/image-reference';
export type { AgentTransportKind } from './agent/transport/agent-transport';
/** The QEMU command line builder and kernel parameters, for tools that boot the guest directly (benchmarks). */
export { buildQemuArgv, type QemuMachine } from './hypervisor/qemu/qemu-cmdline';
export { AGENT_PORT_NAME, QEMU_BINARY, guestKernelParams } from './hypervisor/qemu/qemu.hypervisor';

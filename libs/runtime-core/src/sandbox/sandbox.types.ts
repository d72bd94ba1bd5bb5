import type { GuestImage } from '@moat/guest-image';
import type { Accel } from '../hypervisor/hypervisor';
import type { AgentTransportKind } from '../agent/transport/agent-transport';
import type { NetworkOptions } from '../network/sandbox-networks';
import type { PortMapping, SandboxNetworkSpec } from '../network/network.types';
import type { SharedFsKind } from '../sharefs/shared-fs';

export type { GuestImage };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Options for {@link SandboxRuntime.open}. */
export interface RuntimeOptions {
  /** Per-sandbox directories and state live under `<dataDir>/sandboxes/<id>/`. */
  dataDir: string;
  /** Unix sockets live under `<runDir>/<id>/` (short paths: sun_path is 108 bytes). Default `/run/moat`. */
  runDir?: string;
  guestImage: GuestImage;
  /** `auto` (default) uses KVM when the CPU has vmx/svm and /dev/kvm opens read-write, else TCG. */
  accel?: 'auto' | Accel;
  /** Default `virtiofs`. */
  sharedFs?: SharedFsKind;
  /** CNI and tenant-network settings; without them a sandbox that asks for a network fails. */
  network?: NetworkOptions;
  log?: (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;
}

/** What the node agent asks for. */
export interface SandboxSpec {
  /** A UUID; names every host object of the sandbox. */
  id: string;
  vcpus: number;
  memoryMiB: number;
  env: Record<string, string>;
  /** The container's init process; default an idle shell that exits on SIGTERM. */
  command?: string[];
  /** Sandboxes of one tenant share a network segment; other tenants' are unreachable. Default `default`. */
  tenantId?: string;
  /** Absent: the VM gets no NIC at all. */
  network?: SandboxNetworkSpec;
}

export type SandboxPhaseState = 'creating' | 'running' | 'stopping' | 'failed';

export interface PhaseTiming {
  phase: string;
  ms: number;
}

/** The observed state of one sandbox, as reported to the control plane. */
export interface SandboxInfo {
  id: string;
  state: SandboxPhaseState;
  /** Start phases in order: rootfs, sharefs, vmm, agent, sandbox, container. */
  timings: PhaseTiming[];
  error?: { code: string; message: string };
  guest?: { kernelRelease: string; agentVersion: string };
  accel: Accel;
  transport: AgentTransportKind;
  /** The guest's address and the ports published for it, once plumbed. */
  network?: { ip: string; ports: PortMapping[] };
}

export interface ExecOptions {
  command: string[];
  stdin?: Buffer;
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the process (SIGKILL) after this long and report `timedOut`. */
  timeoutMs?: number;
}

export interface ExecOutput {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
}

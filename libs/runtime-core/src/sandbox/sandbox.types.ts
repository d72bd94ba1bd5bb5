import type { GuestImage } from '@moat/guest-image';
import type { Accel } from '../hypervisor/hypervisor';
import type { AgentTransportKind } from '../agent/transport/agent-transport';
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
}

export interface ExecOptions {
  command: string[];
  stdin?: Buffer;
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the process and everything it started (SIGKILL) after this long and report `timedOut`. */
  timeoutMs?: number;
  /** Run on a pseudo-terminal: stdout and stderr arrive merged on stdout. */
  tty?: boolean;
}

export interface ExecOutput {
  exitCode: number;
  /** The signal that killed the process, 0 if it exited. */
  signal: number;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
  /** The container's memory limit was hit and the kernel's OOM killer killed the process. */
  oomKilled: boolean;
}

/** A container's resource use, from its cgroup (v2) in the guest. */
export interface ContainerStats {
  cpu: { usageUsec: number; userUsec: number; systemUsec: number };
  /** `maxBytes` is the peak; `limitBytes` 0 means no limit. */
  memory: { currentBytes: number; maxBytes: number; limitBytes: number; oomKills: number };
  /** `limit` 0 means no limit. */
  pids: { current: number; limit: number };
  io: { readBytes: number; writeBytes: number };
}

import { AGENT_CALL_TIMEOUT_MS, AGENT_KILL_GRACE_MS, AGENT_MAX_CHUNK_BYTES } from '@moat/proto';

/** Bounds on what the host accepts from an untrusted guest. */
export interface AgentLimits {
  /** Deadline of every call that should complete promptly. */
  callTimeoutMs: number;
  /** Deadline of one long-poll (a read or a wait); the call is repeated until the exec ends. */
  pollTimeoutMs: number;
  /** Bytes asked for by one ReadStdout/ReadStderr call. */
  readChunkBytes: number;
  /** Bytes sent by one WriteStdin call. */
  writeChunkBytes: number;
  /** Total stdout (and, separately, stderr) captured per exec. */
  maxOutputBytes: number;
  /** How long to keep draining output after killing a timed-out process. */
  killGraceMs: number;
}

export const DEFAULT_AGENT_LIMITS: AgentLimits = {
  callTimeoutMs: AGENT_CALL_TIMEOUT_MS,
  pollTimeoutMs: 30_000,
  readChunkBytes: AGENT_MAX_CHUNK_BYTES,
  writeChunkBytes: AGENT_MAX_CHUNK_BYTES,
  maxOutputBytes: 16 * 1024 * 1024,
  killGraceMs: AGENT_KILL_GRACE_MS,
};

export interface GuestDetails {
  kernelRelease: string;
  agentVersion: string;
}

/** A process to start in a container. */
export interface AgentProcessRequest {
  containerId: string;
  execId: string;
  args: string[];
  /** `KEY=VALUE` entries. */
  env: string[];
  cwd: string;
  /** Run on a pseudo-terminal (stdout and stderr merged). */
  tty?: boolean;
  /** The terminal's initial size. */
  window?: WindowSize;
  /** The guest SIGKILLs the process tree after this long; the host gives up a grace period later. */
  timeoutMs?: number;
  /** Whom it runs as in the container; default root (0:0). */
  user?: { uid: number; gid: number };
}

export interface AgentExecRequest extends AgentProcessRequest {
  stdin?: Buffer;
}

export interface WindowSize {
  rows: number;
  cols: number;
}

/** How a process ended, validated. */
export interface ExitInfo {
  exitCode: number;
  /** The signal that killed it, 0 if it exited. */
  signal: number;
  oomKilled: boolean;
  timedOut: boolean;
}

export type OutputStream = 'stdout' | 'stderr';

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

/** One-off requests the control plane makes of a node about one sandbox: exec, stats, pause. */
import { z } from 'zod';
import { MAX_ARGV_ENTRIES, MAX_CWD_LENGTH, MAX_EXEC_TIMEOUT_MS, MAX_SIGNAL } from '../limits/process.limits';

export const execRequestSchema = z.object({
  sandboxId: z.string().uuid(),
  command: z.array(z.string()).min(1).max(MAX_ARGV_ENTRIES),
  stdin: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().max(MAX_CWD_LENGTH).optional(),
  /** Absent: the node's `EXEC_DEFAULT_TIMEOUT_MS`. */
  timeoutMs: z.number().int().positive().max(MAX_EXEC_TIMEOUT_MS).optional(),
  /** Run on a pseudo-terminal: stderr arrives merged into stdout. */
  tty: z.boolean().optional(),
  /**
   * A deployment's health check, the control plane's own probe: not a use of the sandbox, so it
   * does not keep it from going idle (`idleTimeoutSeconds`).
   */
  probe: z.boolean().optional(),
});
export type ExecRequest = z.infer<typeof execRequestSchema>;

export const execResultSchema = z.object({
  exitCode: z.number().int(),
  stdout: z.string(),
  stderr: z.string(),
  /** The signal that killed the process, 0 if it exited. */
  signal: z.number().int().min(0).max(MAX_SIGNAL).optional(),
  timedOut: z.boolean().optional(),
  oomKilled: z.boolean().optional(),
});
export type ExecResult = z.infer<typeof execResultSchema>;

/** A node's answer to an exec: the result, and how long the guest took (node agent → guest agent → process end), in ms. */
export const execReplyResultSchema = execResultSchema.extend({ guestMs: z.number().nonnegative().optional() });
export type ExecReplyResult = z.infer<typeof execReplyResultSchema>;

const counter = z.number().int().nonnegative();

/** A container's live resource use, as `GET /v1/sandboxes/:id/stats` returns it. */
export const sandboxStatsSchema = z.object({
  cpu: z.object({ usageUsec: counter, userUsec: counter, systemUsec: counter }),
  memory: z.object({ currentBytes: counter, maxBytes: counter, limitBytes: counter }),
  pids: z.object({ current: counter, limit: counter }),
  io: z.object({ readBytes: counter, writeBytes: counter }),
  /** When the node read the counters (ISO 8601). */
  at: z.string().datetime(),
});
export type SandboxStats = z.infer<typeof sandboxStatsSchema>;

export const sandboxRefSchema = z.object({ sandboxId: z.string().uuid() });
export type SandboxRef = z.infer<typeof sandboxRefSchema>;

/** Freeze or thaw the sandbox's container (`paused: false` resumes it). */
export const sandboxPauseSchema = z.object({ sandboxId: z.string().uuid(), paused: z.boolean() });
export type SandboxPause = z.infer<typeof sandboxPauseSchema>;

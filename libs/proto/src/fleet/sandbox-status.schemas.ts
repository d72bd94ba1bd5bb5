/** Observed state, node agent → control plane: what a node reports about each sandbox it holds. */
import { z } from 'zod';
import { MAX_PUBLISHED_PORTS } from '../limits/sandbox.limits';
import { errorInfoSchema } from './ack-reply.schema';
import { publishedPortSchema } from './sandbox-desired.schemas';
import { sandboxIsolationSchema } from './sandbox-fences';

/**
 * Sandbox lifecycle states as the API reports them. `unknown`: its node went silent, so nobody
 * can tell; it stays placed there (never placed twice). `hibernating` → `hibernated`: its VM's
 * memory, devices and writable rootfs are being saved on its node / are saved there, and the VM
 * is gone; `waking`: it is being restored from that, back to `running`. `migrating`: it runs on
 * its node while its VM is live-migrated to another (the control plane's state: a node reports
 * it `running`), then `running` there — or on its own node again when the migration failed.
 */
export const SANDBOX_STATES = ['pending', 'creating', 'running', 'migrating', 'hibernating', 'hibernated', 'waking', 'stopping', 'stopped', 'failed', 'unknown'] as const;
export const sandboxStateSchema = z.enum(SANDBOX_STATES);
export type SandboxState = z.infer<typeof sandboxStateSchema>;

/** Duration of each sandbox start phase, in milliseconds, in the order they ran. */
export const phaseTimingSchema = z.object({
  phase: z.string().min(1).max(64),
  ms: z.number().nonnegative(),
});
export type PhaseTiming = z.infer<typeof phaseTimingSchema>;

/** Image pull progress of a sandbox that is being created. */
export const sandboxProgressSchema = z.object({
  phase: z.literal('pull'),
  bytesDone: z.number().int().nonnegative(),
  bytesTotal: z.number().int().nonnegative(),
});
export type SandboxProgress = z.infer<typeof sandboxProgressSchema>;

/** Observed state of one sandbox on a node. `gone` means everything it used is released. */
export const OBSERVED_STATES = ['creating', 'running', 'hibernating', 'hibernated', 'waking', 'stopping', 'stopped', 'failed', 'gone'] as const;
export const observedStateSchema = z.enum(OBSERVED_STATES);
export type ObservedState = z.infer<typeof observedStateSchema>;

/** How the host reaches a sandbox's guest agent. */
export const agentTransportSchema = z.enum(['vsock', 'hybrid-vsock', 'virtio-serial']);
export type AgentTransportName = z.infer<typeof agentTransportSchema>;

export const sandboxStatusSchema = z.object({
  id: z.string().uuid(),
  state: observedStateSchema,
  transport: agentTransportSchema.optional(),
  timings: z.array(phaseTimingSchema).max(64),
  error: errorInfoSchema.optional(),
  /** The guest's kernel release and similar details, once the agent answered. */
  guest: z
    .object({ kernelRelease: z.string().max(256), agentVersion: z.string().max(64) })
    .optional(),
  /** The guest's address on its tenant network and the ports published for it, once plumbed. */
  network: z.object({ ip: z.string().regex(/^[0-9a-fA-F.:]{2,45}$/), ports: z.array(publishedPortSchema).max(MAX_PUBLISHED_PORTS) }).optional(),
  /** While an image is being pulled. */
  progress: sandboxProgressSchema.optional(),
  /** How its VMM is fenced, once its jail is set up. */
  isolation: sandboxIsolationSchema.optional(),
  /**
   * The desired `restartCount` the node started this incarnation with: the control plane
   * ignores reports about an incarnation older than the one it asked for. Absent: current.
   */
  restartCount: z.number().int().nonnegative().optional(),
  /** While `hibernated`: the bytes its saved state takes on its node (VM state and writable rootfs). */
  savedBytes: z.number().int().nonnegative().optional(),
  /**
   * While `running` and idle for at least its desired `idleTimeoutSeconds`: how long it has had
   * no exec, attach session, file transfer or NIC traffic, in whole seconds as the node measured
   * them (no clocks compared). Sent once when it becomes idle, and with every later report
   * until it is used again; the control plane answers by asking for it to hibernate. Absent:
   * in use, or no idle timeout.
   */
  idleSeconds: z.number().int().nonnegative().optional(),
});
export type SandboxStatus = z.infer<typeof sandboxStatusSchema>;

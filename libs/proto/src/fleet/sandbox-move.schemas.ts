/**
 * Moving a sandbox's saved state between two nodes (a hibernated sandbox woken on another node;
 * later, live migration). The control plane arranges it and never carries the bytes: it hands
 * both nodes a one-time key, the target listens (`sandbox:receive`), the source connects and
 * sends (`sandbox:send`) over TLS authenticated by that key (TLS 1.2 PSK, the move id as the
 * PSK identity), so only the two nodes it chose can take part and nobody on the way reads it.
 */
import { z } from 'zod';
import { MOVE_KEY_BYTES } from '../limits/fleet.limits';
import { ipv4Schema } from './sandbox-fences';

/** The one-time key of a move: MOVE_KEY_BYTES random bytes, base64. */
export const moveKeySchema = z
  .string()
  .base64()
  .refine((key) => Buffer.from(key, 'base64').length === MOVE_KEY_BYTES, `${MOVE_KEY_BYTES} bytes, base64`);

const moveRefSchema = z.object({
  /** Names the move in both nodes' logs and is the TLS PSK identity. */
  moveId: z.string().uuid(),
  sandboxId: z.string().uuid(),
  key: moveKeySchema,
});

/** To the target: listen for the sandbox's saved state and take it in as a hibernated sandbox. */
export const sandboxReceiveSchema = moveRefSchema;
export type SandboxReceive = z.infer<typeof sandboxReceiveSchema>;

/** The target's answer: where the source is to connect (its underlay address and a port it opened for this move). */
export const sandboxReceiveReplySchema = z.object({ host: ipv4Schema, port: z.number().int().min(1).max(65535) });
export type SandboxReceiveReply = z.infer<typeof sandboxReceiveReplySchema>;

/** To the source: send the hibernated sandbox's saved state to the target; answered once the target has taken it in. */
export const sandboxSendSchema = moveRefSchema.extend({ to: sandboxReceiveReplySchema });
export type SandboxSend = z.infer<typeof sandboxSendSchema>;

/** The source's answer: how many bytes went (the saved VM and the writable disk's data). */
export const sandboxSendReplySchema = z.object({ bytes: z.number().int().nonnegative() });
export type SandboxSendReply = z.infer<typeof sandboxSendReplySchema>;

/**
 * Live migration (POST /v1/sandboxes/:id/migrate, drain by migration) over the same kind of
 * channel: to the target, listen for the running sandbox's VM and run it (on the address and
 * tenant network plan its state brings: the control plane plans them fleet-wide).
 */
export const sandboxMigrateInSchema = moveRefSchema;
export type SandboxMigrateIn = z.infer<typeof sandboxMigrateInSchema>;

/** To the source: send the running sandbox's VM (QEMU pre-copy) to the target; answered once the target runs it. */
export const sandboxMigrateOutSchema = sandboxSendSchema;
export type SandboxMigrateOut = z.infer<typeof sandboxMigrateOutSchema>;

/** The source's answer: bytes sent (RAM, disk, devices), the guest's final pause and the whole migration's time, in ms. */
export const sandboxMigrateOutReplySchema = z.object({
  bytes: z.number().int().nonnegative(),
  downtimeMs: z.number().nonnegative(),
  totalMs: z.number().nonnegative(),
});
export type SandboxMigrateOutReply = z.infer<typeof sandboxMigrateOutReplySchema>;

/**
 * Interactive sessions between the control plane and node agents (`session:*` on `/agents`),
 * and the validation of what attach clients send (`attach:*`, whose types are in
 * `attach/attach.protocol.ts`). See that file for how the relay works.
 */
import { z } from 'zod';
import type { AttachExit, AttachStart, WindowSize } from '../attach/attach.protocol';
import { MAX_ARGV_ENTRIES, MAX_CWD_LENGTH, MAX_EXIT_STATUS, MAX_SIGNAL, MAX_WINDOW_DIMENSION } from '../limits/process.limits';
import { MAX_SESSION_CHUNK_BYTES } from '../limits/session.limits';
import { errorInfoSchema } from './ack-reply.schema';

/** True when A and B are the same type; the schemas below must match the attach protocol's types. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

export const windowSizeSchema = z.object({
  rows: z.number().int().min(1).max(MAX_WINDOW_DIMENSION),
  cols: z.number().int().min(1).max(MAX_WINDOW_DIMENSION),
});
export type WindowSizeDto = z.infer<typeof windowSizeSchema>;
type _WindowSizeMatches = Assert<Same<WindowSizeDto, WindowSize>>;

/** What a client asks for in `attach:start`. */
export const attachStartSchema = z.object({
  sandboxId: z.string().uuid(),
  /** Default: `/bin/sh`. */
  command: z.array(z.string()).min(1).max(MAX_ARGV_ENTRIES).optional(),
  /** Default true. */
  tty: z.boolean().optional(),
  window: windowSizeSchema.optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().max(MAX_CWD_LENGTH).optional(),
});
type _AttachStartMatches = Assert<Same<z.infer<typeof attachStartSchema>, AttachStart>>;

export const sessionIdSchema = z.string().uuid();

export const sessionOpenSchema = attachStartSchema.extend({ sessionId: sessionIdSchema });
export type SessionOpen = z.infer<typeof sessionOpenSchema>;

const chunkSchema = z.union([z.custom<Uint8Array<ArrayBufferLike>>((value) => value instanceof Uint8Array), z.string()]).refine(
  (data) => (typeof data === 'string' ? Buffer.byteLength(data) : data.length) <= MAX_SESSION_CHUNK_BYTES,
  `a chunk may hold at most ${MAX_SESSION_CHUNK_BYTES} bytes`,
);

export const sessionInputSchema = z.object({ sessionId: sessionIdSchema, data: chunkSchema });
export type SessionInput = z.infer<typeof sessionInputSchema>;
export const sessionResizeSchema = z.object({ sessionId: sessionIdSchema, window: windowSizeSchema });
export type SessionResize = z.infer<typeof sessionResizeSchema>;
export const sessionSignalSchema = z.object({ sessionId: sessionIdSchema, signal: z.number().int().min(1).max(MAX_SIGNAL) });
export type SessionSignal = z.infer<typeof sessionSignalSchema>;
export const sessionRefSchema = z.object({ sessionId: sessionIdSchema });
export type SessionRef = z.infer<typeof sessionRefSchema>;

export const outputStreamSchema = z.enum(['stdout', 'stderr']);
export const sessionOutputSchema = z.object({
  sessionId: sessionIdSchema,
  stream: outputStreamSchema,
  data: z.custom<Uint8Array<ArrayBufferLike>>((value) => value instanceof Uint8Array),
});
export type SessionOutput = z.infer<typeof sessionOutputSchema>;

export const sessionExitSchema = z.object({
  sessionId: sessionIdSchema,
  exitCode: z.number().int().min(0).max(MAX_EXIT_STATUS),
  signal: z.number().int().min(0).max(MAX_SIGNAL),
  oomKilled: z.boolean(),
  timedOut: z.boolean(),
});
export type SessionExit = z.infer<typeof sessionExitSchema>;
type _SessionExitMatches = Assert<Same<Omit<SessionExit, 'sessionId'>, AttachExit>>;

export const sessionErrorSchema = z.object({ sessionId: sessionIdSchema, error: errorInfoSchema });
export type SessionError = z.infer<typeof sessionErrorSchema>;

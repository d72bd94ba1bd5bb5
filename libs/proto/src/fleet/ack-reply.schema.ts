import { z } from 'zod';
import type { ErrorInfo } from '../common/ack-reply';

export const errorInfoSchema = z.object({
  code: z.string().min(1).max(64),
  message: z.string().max(4096),
}) satisfies z.ZodType<ErrorInfo>;

/** Validates an `AckReply` whose result matches `result`. */
export function ackReplySchema<T extends z.ZodType>(result: T) {
  return z.discriminatedUnion('ok', [
    z.object({ ok: z.literal(true), result }),
    z.object({ ok: z.literal(false), error: errorInfoSchema }),
  ]);
}

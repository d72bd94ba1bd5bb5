import type { z } from 'zod';
import { TaskError } from './task.errors';

/** What containerd packs as JSON for a call (an OCI Process, LinuxResources), checked: INVALID_ARGUMENT names what is wrong. */
export function parseOciJson<T>(text: string, schema: z.ZodType<T>, what: string, maxBytes: number): T {
  if (text.length > maxBytes) throw new TaskError('INVALID_ARGUMENT', `${what} is over ${maxBytes} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TaskError('INVALID_ARGUMENT', `${what} is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new TaskError('INVALID_ARGUMENT', `${what}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

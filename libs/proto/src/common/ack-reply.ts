/** An error as it crosses a process boundary: a machine-readable code and a human message. */
export interface ErrorInfo {
  code: string;
  message: string;
}

/** Replies to acknowledged requests carry either a result or an error. */
export type AckReply<T> = { ok: true; result: T } | { ok: false; error: ErrorInfo };

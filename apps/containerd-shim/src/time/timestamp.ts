import type { Timestamp } from '@moat/containerd-api';

/** A google.protobuf.Timestamp of `ms` milliseconds since the Unix epoch. */
export function timestampOfMs(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round(ms - seconds * 1000) * 1_000_000 };
}

/**
 * The node agent's exit time (0: not exited) as containerd's field. Left out when unknown:
 * containerd's Go side declares these timestamps non-nullable and reads a missing one as its
 * zero time, whereas a zero Timestamp would read as 1970.
 */
export function exitedAtOfMs(ms: number): Timestamp | undefined {
  return ms > 0 ? timestampOfMs(ms) : undefined;
}

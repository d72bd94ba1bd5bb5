import type { Stdio } from '@moat/proto/node-tasks';
import { TtrpcError, type RequestContext } from '@moat/ttrpc';
import type { CallContext } from '../node-tasks/node-tasks';
import { timestampOfMs } from '../time/timestamp';
import type { ProcessEnd } from './process-exit';
import type { TaskResponse } from './task.ttrpc';

/** What `body` returns, or its throw, as a promise (for the handlers with nothing to wait for). */
export function answer<T>(body: () => T): Promise<T> {
  return new Promise((resolve) => resolve(body()));
}

export function stdioOf(request: { stdin: string; stdout: string; stderr: string; terminal: boolean }): Stdio {
  return { stdin: request.stdin, stdout: request.stdout, stderr: request.stderr, terminal: request.terminal };
}

export function deleteResponseOf(end: ProcessEnd): TaskResponse<'delete'> {
  return { pid: end.pid, exitStatus: end.exitStatus, exitedAt: timestampOfMs(end.exitedAtMs) };
}

/** The node agent call's limits: containerd's deadline and cancellation. */
export function callOf(context: RequestContext): CallContext {
  return { signal: context.signal, deadline: context.deadline };
}

/** `promise`, or the abort's reason (a ttrpc status) when `signal` aborts first. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(reasonOf(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reasonOf(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function reasonOf(signal: AbortSignal): TtrpcError {
  return signal.reason instanceof TtrpcError ? signal.reason : new TtrpcError('CANCELLED', 'context canceled');
}

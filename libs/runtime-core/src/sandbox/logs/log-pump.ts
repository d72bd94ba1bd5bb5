import { INIT_EXEC_ID } from '@moat/proto';
import type { AgentApi } from '../../agent/agent.client';
import type { OutputStream } from '../../agent/agent.types';
import type { LogRing } from './log-ring';

const STREAMS: readonly OutputStream[] = ['stdout', 'stderr'];

/**
 * Reads the container's main process's stdout and stderr into its ring for as long as the
 * process writes them. Reading is also what keeps that process going: the guest agent holds
 * a bounded buffer per stream and stops reading the pipe once it is full, so unread output
 * would block the process on its next write. The ring ends when both streams reached their
 * end, or when the pump is stopped — but not when it is only detached (the VM is saved: the
 * process goes on, and the next pump, after a wake, adds to the same ring).
 */
export class LogPump {
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;
  private endsRing = true;

  /** Starts pumping; `onError` hears a read that failed other than by `stop` (that stream is read no further). */
  constructor(
    agent: Pick<AgentApi, 'pumpOutput'>,
    containerId: string,
    ring: LogRing,
    onError: (error: unknown, stream: OutputStream) => void,
  ) {
    const { signal } = this.abort;
    const pump = async (stream: OutputStream): Promise<void> => {
      try {
        await agent.pumpOutput(containerId, INIT_EXEC_ID, stream, (chunk) => ring.push(stream, chunk), signal);
      } catch (error) {
        if (!signal.aborted) onError(error, stream);
      }
    };
    this.done = Promise.all(STREAMS.map(pump)).then(() => {
      if (this.endsRing) ring.end();
    });
  }

  /** Stops reading (the reads in flight are cancelled) and resolves once the pump has ended. */
  stop(): Promise<void> {
    this.abort.abort();
    return this.done;
  }

  /** Stops reading like `stop`, leaving the ring open for the pump that takes over (see the class). */
  detach(): Promise<void> {
    this.endsRing = false;
    return this.stop();
  }

  /** Resolves once the pump has ended, by itself or by `stop`. */
  ended(): Promise<void> {
    return this.done;
  }
}

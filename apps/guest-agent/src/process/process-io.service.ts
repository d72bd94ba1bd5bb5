import { AGENT_MAX_CHUNK_BYTES, type ExecSyncResponse, type WaitProcessResponse } from '@moat/proto';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import type { ContainerProcess } from './container-process';
import type { ProcessTable } from './process-table';
import { runToEnd } from './run-to-end';
import { notYet } from './stream-buffer';

/** WaitProcess and the stdio RPCs: they need only the process table, not the container. */
export class ProcessIoService {
  constructor(private readonly processes: ProcessTable<ContainerProcess>) {}

  async wait(containerId: string, execId: string, signal?: AbortSignal): Promise<WaitProcessResponse> {
    const process = this.processes.get(containerId, execId);
    const exit = await Promise.race([
      process.exited,
      new Promise<never>((_resolve, reject) => {
        if (signal?.aborted) reject(notYet());
        signal?.addEventListener('abort', () => reject(notYet()), { once: true });
      }),
    ]);
    process.noteWaitAnswered();
    this.processes.releaseIfSettled(containerId, execId);
    return exit;
  }

  /** ExecSync after its start: the whole run in one answer when it fits (see {@link runToEnd}). */
  async runToEnd(containerId: string, execId: string, stdin: Buffer, inlineBytes: number, signal: AbortSignal): Promise<ExecSyncResponse> {
    const answer = await runToEnd(this.processes.get(containerId, execId), stdin, inlineBytes, signal);
    if (answer.complete) this.processes.releaseIfSettled(containerId, execId);
    return answer;
  }

  writeStdin(containerId: string, execId: string, data: Buffer): Promise<number> {
    return this.processes.get(containerId, execId).writeStdin(data);
  }

  closeStdin(containerId: string, execId: string): void {
    this.processes.get(containerId, execId).closeStdin();
  }

  /** Up to `len` bytes (0 means as many as one answer may carry); empty means end of stream. */
  async read(containerId: string, execId: string, stream: 'stdout' | 'stderr', len: number, signal?: AbortSignal): Promise<Buffer> {
    if (!Number.isInteger(len) || len < 0) {
      throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, `len must be a non-negative integer, got ${len}`);
    }
    const process = this.processes.get(containerId, execId);
    const data = await process[stream].read(len === 0 ? AGENT_MAX_CHUNK_BYTES : Math.min(len, AGENT_MAX_CHUNK_BYTES), signal);
    if (data.length === 0) this.processes.releaseIfSettled(containerId, execId);
    return data;
  }
}

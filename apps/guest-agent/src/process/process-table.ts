import { INIT_EXEC_ID } from '@moat/proto';
import { AgentError, AgentErrorCode } from '../errors/agent.error';

export { INIT_EXEC_ID };

export interface TrackedProcess {
  readonly containerId: string;
  readonly execId: string;
  /** Exited, its exit status answered and both output streams read to the end. */
  isSettled(): boolean;
}

/** The processes the host can still talk to, by container id and exec id. */
export class ProcessTable<P extends TrackedProcess> {
  private readonly byContainer = new Map<string, Map<string, P>>();

  add(process: P): void {
    let processes = this.byContainer.get(process.containerId);
    if (!processes) {
      processes = new Map();
      this.byContainer.set(process.containerId, processes);
    }
    if (processes.has(process.execId)) {
      throw new AgentError(
        AgentErrorCode.PROCESS_EXISTS,
        `process "${process.execId}" already exists in container ${process.containerId}`,
      );
    }
    processes.set(process.execId, process);
  }

  find(containerId: string, execId: string): P | undefined {
    return this.byContainer.get(containerId)?.get(execId);
  }

  get(containerId: string, execId: string): P {
    const process = this.find(containerId, execId);
    if (!process) {
      const what = execId === INIT_EXEC_ID ? 'init process' : `process "${execId}"`;
      throw new AgentError(AgentErrorCode.PROCESS_NOT_FOUND, `no ${what} in container ${containerId}`);
    }
    return process;
  }

  ofContainer(containerId: string): P[] {
    return [...(this.byContainer.get(containerId)?.values() ?? [])];
  }

  remove(containerId: string, execId: string): void {
    const processes = this.byContainer.get(containerId);
    processes?.delete(execId);
    if (processes?.size === 0) this.byContainer.delete(containerId);
  }

  /** Forgets every process of a container (it is being removed). */
  removeContainer(containerId: string): void {
    this.byContainer.delete(containerId);
  }

  /**
   * Forgets an exec process once the host has all it can ask for, so the table does not grow
   * with every exec. The init process stays: it stands for the container until RemoveContainer.
   */
  releaseIfSettled(containerId: string, execId: string): boolean {
    if (execId === INIT_EXEC_ID) return false;
    const processes = this.byContainer.get(containerId);
    const process = processes?.get(execId);
    if (!processes || !process?.isSettled()) return false;
    this.remove(containerId, execId);
    return true;
  }

  get size(): number {
    let total = 0;
    for (const processes of this.byContainer.values()) total += processes.size;
    return total;
  }
}

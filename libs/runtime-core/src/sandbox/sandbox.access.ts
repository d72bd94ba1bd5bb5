import type { AgentApi } from '../agent/agent.client';
import { isProtocolViolation } from '../agent/agent.validation';
import { RuntimeError, RuntimeErrorCode } from '../errors/runtime.errors';
import type { SandboxEntry } from './model/sandbox.entry';
import { containerIdOf } from './model/sandbox.state';
import type { PodContainers } from './pod/pod-containers';
import type { SandboxLifecycle } from './sandbox.lifecycle';

/** A running sandbox, its agent, and the id its guest knows the container by. */
export interface RunningSandbox {
  entry: SandboxEntry;
  agent: AgentApi;
  container: string;
}

/**
 * How the runtime's operations reach a sandbox: by id, checked to exist or to run, and each call
 * to its guest guarded — a guest that breaks the protocol loses its sandbox, as it cannot be
 * trusted with another call.
 */
export class SandboxAccess {
  constructor(
    private readonly entries: ReadonlyMap<string, SandboxEntry>,
    private readonly pods: Pick<PodContainers, 'get'>,
    private readonly lifecycle: Pick<SandboxLifecycle, 'failAndRelease'>,
  ) {}

  /** The sandbox `id`, whatever its state; SANDBOX_NOT_FOUND if this runtime has none. */
  known(id: string): SandboxEntry {
    const entry = this.entries.get(id);
    if (!entry) throw new RuntimeError(RuntimeErrorCode.SANDBOX_NOT_FOUND, `sandbox ${id} not found`, { context: { sandboxId: id } });
    return entry;
  }

  /**
   * The running sandbox `id`, and the id its guest knows the container by; with `containerId`
   * other than `id`, one its pod added, which must exist.
   */
  running(id: string, containerId = id): RunningSandbox {
    const entry = this.known(id);
    if (entry.phase !== 'running' || !entry.agent) {
      throw new RuntimeError(RuntimeErrorCode.SANDBOX_NOT_RUNNING, `sandbox ${id} is ${entry.phase}`, { context: { sandboxId: id } });
    }
    if (containerId === id) return { entry, agent: entry.agent, container: containerIdOf(entry.state) };
    this.pods.get(entry, containerId);
    return { entry, agent: entry.agent, container: containerId };
  }

  /** Runs a call to the guest; one that breaks the protocol fails the sandbox before it throws. */
  async guard<T>(entry: SandboxEntry, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      await this.failIfProtocolViolation(entry, error);
      throw error;
    }
  }

  /** Fails the sandbox if `error` is its guest breaking the protocol. */
  async failIfProtocolViolation(entry: SandboxEntry, error: unknown): Promise<void> {
    if (isProtocolViolation(error)) await this.lifecycle.failAndRelease(entry, error);
  }
}

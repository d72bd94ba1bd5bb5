import type { AgentApi } from '../../agent/agent.client';
import type { AgentTransport } from '../../agent/transport/agent-transport';
import { createAgentTransport } from '../../agent/transport/agent-transport.factory';
import { guestCidFor } from '../../agent/transport/vsock.dialer';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import type { Hypervisor } from '../../hypervisor/hypervisor';
import { vmIdOf, type SandboxState } from '../model/sandbox.state';
import type { StartStep, StepContext } from './start-step';

/** Where a sandbox's transport finds its guest: the proxy socket beside QEMU's, and its vsock CID. */
export function transportFor(state: SandboxState): AgentTransport {
  return createAgentTransport(state.transport, {
    agentSocket: state.paths.agentSocket,
    proxySocket: `${state.paths.runDir}/agent-proxy.sock`,
    guestCid: guestCidFor(vmIdOf(state)),
  });
}

export interface AgentStepDeps {
  hypervisor: Pick<Hypervisor, 'guestFailure'>;
  connectAgent: (transport: AgentTransport) => AgentApi;
  /** How long a booting VM has to answer Health.Check; TCG boots are slow. */
  bootTimeoutMs: number;
}

/** The connection to the guest agent, once it answers. */
export class AgentStep implements StartStep {
  readonly phase = 'agent' as const;
  readonly failureCode = RuntimeErrorCode.VM_BOOT_FAILED;

  constructor(private readonly deps: AgentStepDeps) {}

  /** A warm-pool VM comes with its agent connected. */
  applies(ctx: StepContext): boolean {
    return ctx.entry.agent === undefined;
  }

  async acquire(ctx: StepContext): Promise<void> {
    const { entry } = ctx;
    const { state } = entry;
    const pid = state.vmmPid;
    if (pid === undefined) throw new RuntimeError(RuntimeErrorCode.VM_BOOT_FAILED, 'no VM to connect to');
    // A guest that ran before was woken or forked (or its save failed); the transport's
    // handshake keeps what it still had for its previous host out of the new session.
    const ranBefore = state.guest !== undefined;
    const agent = this.deps.connectAgent(transportFor(state));
    entry.agent = agent;
    // A restored, woken or forked guest's clock stopped when its state was saved: it is ready once it has taken the host's.
    const failure = async () => (ctx.cancelled() ? 'the start was cancelled' : this.deps.hypervisor.guestFailure(pid, vmIdOf(state), state.paths));
    await agent.waitReady(this.deps.bootTimeoutMs, failure, { setClock: state.restored === true || ranBefore });
    // A guest that ran before is the one whose details are known.
    if (!ranBefore) state.guest = await agent.guestDetails();
  }

  release(ctx: StepContext): Promise<void> {
    ctx.entry.agent?.close();
    ctx.entry.agent = undefined;
    return Promise.resolve();
  }
}

import type { AgentApi } from '../../agent/agent.client';
import { RuntimeError, RuntimeErrorCode } from '../../errors/runtime.errors';
import type { Hypervisor } from '../../hypervisor/hypervisor';
import type { SharedFs, SharedFsKind } from '../../sharefs/shared-fs';
import { buildContainerSpec } from '../model/oci-spec';
import { hostnameOf } from '../model/sandbox-spec';
import type { SandboxEntry } from '../model/sandbox.entry';
import { containerIdOf, vmIdOf } from '../model/sandbox.state';
import { configureGuestNetwork } from './guest-network';
import type { StartStep, StepContext } from './start-step';

/** Seconds the container's init gets between SIGTERM and SIGKILL on delete. */
const CONTAINER_STOP_SECONDS = 2;

type IsRunning = Pick<Hypervisor, 'isRunning'>;

function agentOf(entry: SandboxEntry): AgentApi {
  if (!entry.agent) throw new RuntimeError(RuntimeErrorCode.AGENT_UNREACHABLE, 'the guest agent is not connected');
  return entry.agent;
}

/**
 * The agent a release may say goodbye through: only while the VM runs, as errors are all a
 * broken guest would give. Undefined when there is nobody to talk to.
 */
async function liveAgent(entry: SandboxEntry, hypervisor: IsRunning): Promise<AgentApi | undefined> {
  const { vmmPid } = entry.state;
  if (!entry.agent || vmmPid === undefined) return undefined;
  return (await hypervisor.isRunning(vmmPid, vmIdOf(entry.state))) ? entry.agent : undefined;
}

/** The guest side of the sandbox: its NIC and routes, its hostname and DNS, its rootfs mounted. */
export class GuestSandboxStep implements StartStep {
  readonly phase = 'sandbox' as const;
  readonly failureCode = RuntimeErrorCode.AGENT_CALL_FAILED;

  constructor(
    private readonly sharedFs: (kind: SharedFsKind) => SharedFs,
    private readonly hypervisor: IsRunning,
    /** The node's resolvers, for sandboxes that name none. */
    private readonly defaultDns: readonly string[],
  ) {}

  async acquire(ctx: StepContext): Promise<void> {
    const { state } = ctx.entry;
    const { spec } = state;
    const agent = agentOf(ctx.entry);
    const guestNet = state.network?.guest;
    if (guestNet) await configureGuestNetwork(agent, guestNet);
    const storage = this.sharedFs(state.sharedFsKind).guestStorage();
    // The guest writes these into its containers' /etc/resolv.conf, with or without a network.
    await agent.createSandbox({
      sandboxId: spec.id,
      hostname: hostnameOf(spec),
      dns: [...(spec.dns?.servers ?? this.defaultDns)],
      dnsSearch: [...(spec.dns?.search ?? [])],
      dnsOptions: [...(spec.dns?.options ?? [])],
      storages: [storage],
    });
    state.sandboxCreated = true;
  }

  async release(ctx: StepContext): Promise<void> {
    const { state } = ctx.entry;
    if (!state.sandboxCreated) return;
    await (await liveAgent(ctx.entry, this.hypervisor))?.destroySandbox().catch(() => undefined);
    state.sandboxCreated = false;
  }
}

/** The workload: the container created from its OCI spec and started (or left waiting for its start: `deferStart`). */
export class ContainerStep implements StartStep {
  readonly phase = 'container' as const;
  readonly failureCode = RuntimeErrorCode.AGENT_CALL_FAILED;

  constructor(private readonly hypervisor: IsRunning) {}

  async acquire(ctx: StepContext): Promise<void> {
    const { state } = ctx.entry;
    const { spec, process } = state;
    const agent = agentOf(ctx.entry);
    const ociSpec = buildContainerSpec({
      containerId: spec.id,
      hostname: hostnameOf(spec),
      env: { ...process?.env, ...spec.env },
      command: process?.args ?? spec.command,
      cwd: process?.cwd,
      user: process?.user,
      terminal: spec.tty,
      vcpus: spec.vcpus,
      memoryMiB: spec.memoryMiB,
    });
    await agent.createContainer({ containerId: spec.id, ociSpecJson: JSON.stringify(ociSpec), storages: [] });
    state.containerCreated = true;
    if (spec.deferStart) {
      state.initWaiting = true;
      return;
    }
    await agent.startContainer(spec.id);
  }

  async release(ctx: StepContext): Promise<void> {
    const { state } = ctx.entry;
    if (!state.containerCreated) return;
    await (await liveAgent(ctx.entry, this.hypervisor))?.removeContainer(containerIdOf(state), CONTAINER_STOP_SECONDS).catch(() => undefined);
    state.containerCreated = false;
    state.initWaiting = undefined;
  }
}

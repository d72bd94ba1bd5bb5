import type { DesiredSandbox, DesiredState, NetworkModel, SandboxStatus, TenantNetworkPlan, TenantPeersUpdate } from '@moat/proto';
import type { PlannedAddress, SandboxInfo, SandboxRuntime } from '@moat/runtime-core';
import type { Logger } from 'pino';
import type { IdleTracker } from '../idle/idle-tracker';
import type { MoveArrivals } from '../move/move-arrivals';
import type { MoveDepartures } from '../move/move-departures';
import type { StartObserver } from '../metrics/node.metrics';
import { errorInfo } from '../errors/error-info';

/** The part of the runtime the reconciler drives (a fake implements it in unit tests). */
export type RuntimePort = Pick<SandboxRuntime, 'list' | 'get' | 'create' | 'delete' | 'hibernate' | 'wake' | 'setOverlayPeers'>;

/**
 * Converges the host to the desired set of sandboxes the control plane sends.
 *
 * Level-triggered, like a kubelet: every desired set is complete, so a sandbox missing from
 * it is deleted, and a repeated set is harmless. Work on one sandbox is serialized (a delete
 * waits for its create), different sandboxes converge concurrently. The sandboxes of
 * containerd's tasks are left alone: containerd owns them.
 *
 * Restarts: the control plane keeps a failed sandbox its restart policy will start again in
 * the desired set, and raises its `restartCount` when the restart is due. A sandbox the
 * runtime holds `failed` whose desired count is higher than the one it was started with is
 * deleted and created again from the same spec, under the same id: a fresh VM. Every status
 * carries the count its incarnation was started with, so a late report about the failed one
 * cannot be taken for a failure of the next.
 *
 * Auto-hibernate: with an IdleTracker, every status passes through it (a running sandbox idle
 * for its `idleTimeoutSeconds` says so with `idleSeconds`), and {@link checkIdle} reports the
 * sandboxes that just became idle. The control plane decides and asks for the hibernation.
 *
 * Moves: a sandbox taken in from another node is not desired here until the control plane
 * places it. With MoveArrivals, such an arrival is left alone until it is desired or its grace
 * has passed; then it is deleted as any sandbox nobody wants. With MoveDepartures, a sandbox
 * that migrated live to another node is not created again while the control plane still places
 * it here, until it is no longer desired here or its grace has passed.
 */
export class Reconciler {
  private desired = new Map<string, DesiredSandbox>();
  /** The control plane's plan of each tenant's network, from the last desired set. */
  private networks = new Map<string, TenantNetworkPlan>();
  /** This node's underlay address as the last desired set named it: other nodes list it among a tenant's peers. */
  private underlayAddress: string | undefined;
  private readonly queues = new Map<string, Promise<void>>();
  /** The desired restartCount each sandbox the runtime holds was started with (or found at). */
  private readonly incarnations = new Map<string, number>();
  private readonly report: (status: SandboxStatus) => void;

  constructor(
    private readonly runtime: RuntimePort,
    report: (status: SandboxStatus) => void,
    private readonly log: Logger,
    private readonly defaultNetworkModel: NetworkModel = 'tcfilter',
    private readonly observer?: StartObserver,
    private readonly idleTracker?: IdleTracker,
    private readonly arrivals?: MoveArrivals,
    private readonly departures?: MoveDepartures,
  ) {
    this.report = idleTracker ? (status) => report(idleTracker.observe(status)) : report;
    arrivals?.onGraceEnd((id) => this.enqueue(id));
    departures?.onGraceEnd((id) => this.enqueue(id));
  }

  /**
   * Reports, once each, the running sandboxes that have been idle for their desired
   * `idleTimeoutSeconds` (through their queue, so the report follows any work queued on them).
   */
  async checkIdle(): Promise<void> {
    if (!this.idleTracker) return;
    const timeouts = new Map<string, number>();
    for (const want of this.desired.values()) {
      if (want.idleTimeoutSeconds === undefined || want.hibernated === true) continue;
      if (this.runtime.get(want.id)?.state === 'running') timeouts.set(want.id, want.idleTimeoutSeconds);
    }
    for (const id of await this.idleTracker.check(timeouts)) this.enqueue(id);
  }

  /**
   * Applies a complete desired set: its tenant networks' peers at once (a failure is logged: the
   * next set tries again), its sandboxes queued. Returns once every resulting change has been queued.
   */
  setDesired({ sandboxes, networks = [], underlayAddress }: DesiredState): void {
    this.networks = new Map(networks.map((n) => [n.tenantId, n]));
    this.underlayAddress = underlayAddress;
    this.applyPeers(networks);
    const previous = this.desired;
    this.desired = new Map(sandboxes.map((s) => [s.id, s]));
    const ids = new Set<string>([...previous.keys(), ...this.desired.keys(), ...this.controlled().map((s) => s.id)]);
    for (const id of ids) this.enqueue(id);
  }

  /**
   * A tenant's new peers, sent when its set of nodes changed elsewhere: its overlay follows (every
   * other tenant keeps the peers it has). A tenant the last desired set did not hold is left alone.
   */
  setTenantPeers({ tenantId, peers }: TenantPeersUpdate): void {
    if (!this.networks.has(tenantId)) return;
    const own = this.underlayAddress;
    this.applyPeers([...this.networks.keys()].map((id) => (id === tenantId ? { tenantId, peers: peers.filter((address) => address !== own) } : { tenantId: id })));
  }

  /** Brings the tenant overlays to these peers (a failure is logged: the next word from the control plane tries again). */
  private applyPeers(tenants: readonly { tenantId: string; peers?: readonly string[] }[]): void {
    this.runtime
      .setOverlayPeers(this.underlayAddress, tenants)
      .catch((err: unknown) => this.log.error({ err }, 'tenant overlays not brought to the control plane\'s plan'));
  }

  /** Resolves when all queued work is done (used on shutdown and in tests). */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  /** Where the sandbox sits on its tenant's fleet-wide network, when the control plane planned it. */
  private planned(want: DesiredSandbox): PlannedAddress | undefined {
    const plan = want.tenantId === undefined ? undefined : this.networks.get(want.tenantId);
    return plan && want.address ? { vni: plan.vni, subnet: plan.subnet, gateway: plan.gateway, address: want.address } : undefined;
  }

  /** Deletes every sandbox on this host (development shutdown). */
  async deleteAll(): Promise<void> {
    this.desired = new Map();
    this.arrivals?.clear();
    this.departures?.clear();
    for (const s of this.controlled()) this.enqueue(s.id);
    await this.idle();
  }

  /** The runtime's sandboxes the control plane decides on: containerd's tasks are containerd's. */
  private controlled(): SandboxInfo[] {
    return this.runtime.list().filter((s) => !s.containerd);
  }

  private enqueue(id: string): void {
    const prior = this.queues.get(id) ?? Promise.resolve();
    const next = prior
      .then(() => this.converge(id))
      .catch((err: unknown) => this.log.error({ err, sandboxId: id }, 'converge failed'))
      .finally(() => {
        if (this.queues.get(id) === next) this.queues.delete(id);
      });
    this.queues.set(id, next);
  }

  private async converge(id: string): Promise<void> {
    const want = this.desired.get(id);
    const have = this.runtime.get(id);
    if (want) this.arrivals?.forget(id);
    else this.departures?.forget(id);
    // Migrated to another node, which runs it; the control plane has yet to place it there. What
    // the runtime still holds of it here is on its way out: neither created again nor reported.
    if (want && this.departures?.holds(id)) return;
    if (want && have?.state === 'failed' && restartCountOf(want) > (this.incarnations.get(id) ?? restartCountOf(want))) {
      this.log.info({ sandboxId: id, restartCount: restartCountOf(want), error: have.error }, 'restarting failed sandbox');
      // It holds nothing on the host any more (a failure releases everything); this forgets it.
      await this.runtime.delete(id);
      await this.create(id, want);
    } else if (want && !have) {
      await this.create(id, want);
    } else if (!want && have && this.arrivals?.holds(id)) {
      // Taken in from another node; the control plane has yet to place it here.
      return;
    } else if (!want && have) {
      this.log.info({ sandboxId: id }, 'deleting sandbox');
      if (have.state !== 'failed') this.report({ id, state: 'stopping', timings: have.timings });
      await this.runtime.delete(id);
      this.incarnations.delete(id);
      this.report({ id, state: 'gone', timings: [] });
    } else if (!want) {
      // Nothing here and nothing wanted: say so, so the control plane can forget it.
      this.incarnations.delete(id);
      this.report({ id, state: 'gone', timings: [] });
    } else if (have) {
      // One this process did not start (re-adopted after a restart of the agent), or one that
      // runs although a restart was asked for (it was started again meanwhile): it is the
      // incarnation the control plane wants now.
      const known = this.incarnations.get(id);
      if (known === undefined || have.state !== 'failed') this.incarnations.set(id, Math.max(known ?? 0, restartCountOf(want)));
      if (want.hibernated === true && have.state === 'running') await this.hibernate(id);
      else if (want.hibernated !== true && have.state === 'hibernated') await this.wake(id, want);
      else this.report(toStatus(have, this.incarnations.get(id)));
    }
  }

  /**
   * Saves the sandbox's VM and releases it (its states on the way are reported through the
   * create's update callback). One that cannot be saved runs on, reported `running` with the
   * reason, so the control plane stops asking.
   */
  private async hibernate(id: string): Promise<void> {
    this.log.info({ sandboxId: id }, 'hibernating sandbox');
    try {
      this.report(toStatus(await this.runtime.hibernate(id), this.incarnations.get(id)));
    } catch (err) {
      this.log.warn({ err, sandboxId: id }, 'hibernate failed; the sandbox runs on');
      // Its idle time starts afresh: asked again only after another idle timeout, not at once.
      this.idleTracker?.touch(id);
      const have = this.runtime.get(id);
      if (have) this.report({ ...toStatus(have, this.incarnations.get(id)), error: errorInfo(err) });
    }
  }

  /** Runs a hibernated sandbox again, on the address the control plane planned for it; a failed wake reports the sandbox `failed`. */
  private async wake(id: string, want: DesiredSandbox): Promise<void> {
    this.log.info({ sandboxId: id }, 'waking sandbox');
    const info = await this.runtime.wake(id, this.planned(want));
    this.report(toStatus(info, this.incarnations.get(id)));
    this.log.info({ sandboxId: id, state: info.state, error: info.error, timings: info.timings }, 'sandbox wake finished');
  }

  private async create(id: string, want: DesiredSandbox): Promise<void> {
    const incarnation = restartCountOf(want);
    this.incarnations.set(id, incarnation);
    this.log.info({ sandboxId: id, ...(incarnation > 0 && { restartCount: incarnation }) }, 'creating sandbox');
    const planned = this.planned(want);
    let loggedTenth = -1;
    let pulledBytes: number | undefined;
    const info = await this.runtime.create(
      {
        id,
        vcpus: want.vcpus,
        memoryMiB: want.memoryMiB,
        env: want.env,
        image: want.image,
        command: want.command,
        rootfs: want.rootfs,
        ...(want.tenantId && { tenantId: want.tenantId }),
        ...(want.dns && { dns: want.dns }),
        ...(want.forkOf && { forkOf: want.forkOf }),
        ...(want.network !== false && {
          network: {
            model: want.networkModel ?? this.defaultNetworkModel,
            ports: want.ports ?? [],
            ...(want.egress && { egress: want.egress }),
            ...(planned && { planned }),
          },
        }),
      },
      // Also how a later failure (the VMM died, the guest stopped answering) is reported.
      (update) => {
        if (update.progress) {
          // Every tenth of the way is enough for a log; the control plane gets every update.
          const { bytesDone, bytesTotal } = update.progress;
          pulledBytes = bytesDone;
          const tenth = bytesTotal > 0 ? Math.floor((bytesDone / bytesTotal) * 10) : 10;
          if (tenth > loggedTenth) {
            loggedTenth = tenth;
            this.log.info({ sandboxId: id, image: want.image, bytesDone, bytesTotal }, 'pulling image');
          }
        }
        this.report(toStatus(update, incarnation));
      },
    );
    this.report(toStatus(info, incarnation));
    this.observer?.started(info, pulledBytes);
    this.log.info({ sandboxId: id, state: info.state, error: info.error }, 'sandbox create finished');
  }
}

/** The desired restartCount (absent: never restarted). */
function restartCountOf(want: DesiredSandbox): number {
  return want.restartCount ?? 0;
}

/**
 * Maps the runtime's view of a sandbox to the fleet protocol's status message; `restartCount`
 * names the incarnation it is about.
 */
export function toStatus(info: SandboxInfo, restartCount?: number): SandboxStatus {
  return {
    id: info.id,
    state: info.state,
    timings: info.timings,
    transport: info.transport,
    ...(info.error ? { error: info.error } : {}),
    ...(info.guest ? { guest: info.guest } : {}),
    ...(info.network ? { network: info.network } : {}),
    ...(info.progress ? { progress: info.progress } : {}),
    ...(info.isolation ? { isolation: info.isolation } : {}),
    ...(restartCount !== undefined ? { restartCount } : {}),
    ...(info.savedBytes !== undefined ? { savedBytes: info.savedBytes } : {}),
  };
}

import type { DesiredSandbox, NetworkModel, SandboxStatus } from '@moat/proto';
import type { SandboxInfo, SandboxRuntime } from '@moat/runtime-core';
import type { Logger } from 'pino';

/** The part of the runtime the reconciler drives (a fake implements it in unit tests). */
export type RuntimePort = Pick<SandboxRuntime, 'list' | 'get' | 'create' | 'delete'>;

/**
 * Converges the host to the desired set of sandboxes the control plane sends.
 *
 * Level-triggered, like a kubelet: every desired set is complete, so a sandbox missing from
 * it is deleted, and a repeated set is harmless. Work on one sandbox is serialized (a delete
 * waits for its create), different sandboxes converge concurrently.
 */
export class Reconciler {
  private desired = new Map<string, DesiredSandbox>();
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly runtime: RuntimePort,
    private readonly report: (status: SandboxStatus) => void,
    private readonly log: Logger,
    private readonly defaultNetworkModel: NetworkModel = 'tcfilter',
  ) {}

  /** Applies a complete desired set. Returns once every resulting change has been queued. */
  setDesired(sandboxes: DesiredSandbox[]): void {
    const previous = this.desired;
    this.desired = new Map(sandboxes.map((s) => [s.id, s]));
    const ids = new Set<string>([...previous.keys(), ...this.desired.keys(), ...this.runtime.list().map((s) => s.id)]);
    for (const id of ids) this.enqueue(id);
  }

  /** Resolves when all queued work is done (used on shutdown and in tests). */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  /** Deletes every sandbox on this host (development shutdown). */
  async deleteAll(): Promise<void> {
    this.desired = new Map();
    for (const s of this.runtime.list()) this.enqueue(s.id);
    await this.idle();
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
    if (want && !have) {
      this.log.info({ sandboxId: id }, 'creating sandbox');
      let loggedTenth = -1;
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
          ...(want.network !== false && {
            network: { model: want.networkModel ?? this.defaultNetworkModel, ports: want.ports ?? [], ...(want.egress && { egress: want.egress }) },
          }),
        },
        (update) => {
          if (update.progress) {
            // Every tenth of the way is enough for a log; the control plane gets every update.
            const { bytesDone, bytesTotal } = update.progress;
            const tenth = bytesTotal > 0 ? Math.floor((bytesDone / bytesTotal) * 10) : 10;
            if (tenth > loggedTenth) {
              loggedTenth = tenth;
              this.log.info({ sandboxId: id, image: want.image, bytesDone, bytesTotal }, 'pulling image');
            }
          }
          this.report(toStatus(update));
        },
      );
      this.report(toStatus(info));
      this.log.info({ sandboxId: id, state: info.state, error: info.error }, 'sandbox create finished');
    } else if (!want && have) {
      this.log.info({ sandboxId: id }, 'deleting sandbox');
      if (have.state !== 'failed') this.report({ id, state: 'stopping', timings: have.timings });
      await this.runtime.delete(id);
      this.report({ id, state: 'gone', timings: [] });
    } else if (!want) {
      // Nothing here and nothing wanted: say so, so the control plane can forget it.
      this.report({ id, state: 'gone', timings: [] });
    } else if (have) {
      this.report(toStatus(have));
    }
  }
}

/** Maps the runtime's view of a sandbox to the fleet protocol's status message. */
export function toStatus(info: SandboxInfo): SandboxStatus {
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
  };
}

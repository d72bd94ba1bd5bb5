import type { DesiredSandbox } from '@moat/proto';
import { NEVER_RESTART } from './restart-policy';
import { appendEvent, EventReason, type SandboxEvent } from './sandbox-events';
import { newSandbox, type SandboxEntity } from './sandbox.entity';

/** One fork request: its id, which all its clones carry, and how many clones it makes. */
export interface Fork {
  id: string;
  count: number;
}

/** What a clone's desired entry says of its fork (its node starts it from its source); undefined for any other sandbox. */
export function forkOf(sandbox: Pick<SandboxEntity, 'forkedFrom' | 'forkId' | 'forkCount'>): DesiredSandbox['forkOf'] {
  const { forkedFrom, forkId, forkCount } = sandbox;
  return forkedFrom && forkId && forkCount ? { sandboxId: forkedFrom, forkId, count: forkCount } : undefined;
}

/**
 * A new clone of a running sandbox, placed on the source's node (the one place its capture can
 * be): the source's spec — size, image, command, env, rootfs, auto-hibernate timeout, labels,
 * node selector and network settings — with its published ports asking for no fixed host port (the source holds those, so
 * the node picks others). It belongs to no deployment or template, and is never restarted: a
 * restart would start it from a new capture of its source, not from what it was. Its address is
 * planned as any new sandbox's; its first event says where it came from.
 */
export function newClone(source: SandboxEntity, fork: Fork, now: Date): SandboxEntity {
  const clone = newSandbox(
    {
      tenantId: source.tenantId,
      nodeId: source.nodeId,
      placedAt: now,
      vcpus: source.vcpus,
      memoryMiB: source.memoryMiB,
      image: source.image,
      command: source.command,
      rootfs: source.rootfs,
      idleTimeoutSeconds: source.idleTimeoutSeconds,
      env: source.env,
      labels: source.labels,
      nodeSelector: source.nodeSelector,
      antiAffinityKey: null,
      networkModel: source.networkModel,
      network: source.network,
      ports: source.ports.map(({ containerPort, protocol }) => ({ containerPort, protocol })),
      egress: source.egress,
      dns: source.dns,
      deploymentId: null,
      templateId: null,
      templateVersion: null,
      restartPolicy: NEVER_RESTART,
    },
    now,
  );
  return {
    ...clone,
    forkedFrom: source.id,
    forkId: fork.id,
    forkCount: fork.count,
    events: appendEvent([], clone.state, now, { code: EventReason.FORKED, message: `forked from ${source.id}` }),
  };
}

/** What a fork made, as the source's event and the audit log tell it: how many clones, which. */
export function forkedInto(clones: readonly Pick<SandboxEntity, 'id'>[]): string {
  return `forked into ${clones.length}: ${clones.map((clone) => clone.id).join(', ')}`;
}

/** The source's events with its fork told (see forkedInto). */
export function forkedEvents(source: Pick<SandboxEntity, 'events' | 'state'>, clones: readonly Pick<SandboxEntity, 'id'>[], now: Date): SandboxEvent[] {
  return appendEvent(source.events, source.state, now, { code: EventReason.FORKED, message: forkedInto(clones) });
}

import type {
  AgentTransportName,
  DnsConfig,
  EgressPolicy,
  ErrorInfo,
  NetworkModel,
  PhaseTiming,
  PortSpec,
  RootfsKind,
  SandboxIsolation,
  SandboxProgress,
  SandboxState,
  SandboxStatus,
} from '@moat/proto';
import { randomUUID } from 'node:crypto';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { PendingReason } from './pending-reason';
import type { RestartPolicy } from './restart-policy';
import type { SandboxEvent } from './sandbox-events';

export type DesiredSandboxState = 'running' | 'deleted';

/** PostgreSQL hands a bigint back as a string; byte counts stay well within a double's integers. */
const BIGINT_AS_NUMBER = {
  to: (value: number | null): number | null => value,
  from: (value: string | number | null): number | null => (value === null ? null : Number(value)),
};
export const SANDBOX_HEALTH = ['unknown', 'healthy', 'unhealthy'] as const;
export type SandboxHealth = (typeof SANDBOX_HEALTH)[number];
export type GuestInfo = NonNullable<SandboxStatus['guest']>;

@Entity('sandboxes')
@Index('UQ_sandboxes_tenant_address', ['tenantId', 'address'], { unique: true })
export class SandboxEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 36 })
  tenantId!: string;

  /** The node it is placed on; null while pending placement. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  nodeId!: string | null;

  /** Observed state, as reported by the node (or `pending`/`stopping` set here). */
  @Column({ type: 'varchar', length: 16 })
  state!: SandboxState;

  @Column({ type: 'varchar', length: 16 })
  desiredState!: DesiredSandboxState;

  /**
   * Asked to hibernate: its node is to save the VM and release it (`hibernating` → `hibernated`),
   * and to restore it once this is false again (`waking` → `running`). Only while desired running.
   */
  @Column({ type: 'boolean', default: false })
  desiredHibernated!: boolean;

  /**
   * While woken on another node: that node, as its saved state moves there from `nodeId` (state
   * `waking`); while live-migrated (`liveMove`), the node its VM goes to. Its vCPUs and memory
   * are booked there; no second move starts. null otherwise.
   */
  @Column({ type: 'varchar', length: 36, nullable: true })
  movingTo!: string | null;

  /**
   * The move under way is a live migration: the sandbox runs on `nodeId` (state `migrating`)
   * while its VM goes to `movingTo`, where it runs once the migration succeeded.
   */
  @Column({ type: 'boolean', default: false })
  liveMove!: boolean;

  /** While hibernated: the bytes its saved state takes on its node, as the node reports them; null otherwise. */
  @Column({ type: 'bigint', nullable: true, transformer: BIGINT_AS_NUMBER })
  savedBytes!: number | null;

  @Column('integer')
  vcpus!: number;

  @Column('integer')
  memoryMiB!: number;

  @Column({ type: 'varchar', length: 1024, nullable: true })
  image!: string | null;

  /** Replaces the image's Entrypoint and Cmd. */
  @Column({ type: 'simple-json', nullable: true })
  command!: string[] | null;

  /** How the rootfs reaches the VM; null: the node's default. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  rootfs!: RootfsKind | null;

  /**
   * Auto-hibernate: hibernated once its node reports it unused this long (no exec, attach, file
   * transfer or NIC traffic); only a `rootfs: block` sandbox has one. null: never.
   */
  @Column({ type: 'integer', nullable: true })
  idleTimeoutSeconds!: number | null;

  /** Image pull progress while creating. */
  @Column({ type: 'simple-json', nullable: true })
  progress!: SandboxProgress | null;

  @Column('simple-json')
  env!: Record<string, string>;

  @Column('simple-json')
  labels!: Record<string, string>;

  /** Only nodes carrying all these labels may run it. */
  @Column('simple-json')
  nodeSelector!: Record<string, string>;

  /** Sandboxes sharing this key are spread over nodes (a deployment passes its id). */
  @Column({ type: 'varchar', length: 128, nullable: true })
  antiAffinityKey!: string | null;

  /** Why the scheduler could not place it yet; null once placed (and before it first tried). */
  @Column({ type: 'simple-json', nullable: true })
  pendingReason!: PendingReason | null;

  /** When the scheduler placed it (null while unplaced). */
  @Column({ type: Date, nullable: true })
  placedAt!: Date | null;

  @Column('simple-json')
  timings!: PhaseTiming[];

  @Column({ type: 'simple-json', nullable: true })
  error!: ErrorInfo | null;

  @Column({ type: 'simple-json', nullable: true })
  guest!: GuestInfo | null;

  /** null: the node's default model. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  networkModel!: NetworkModel | null;

  @Column({ type: 'boolean', default: true })
  network!: boolean;

  /** As requested, then as published by the node (with the host ports it picked). */
  @Column('simple-json')
  ports!: PortSpec[];

  /** Where its traffic may go; null: everywhere but what the node always refuses. */
  @Column({ type: 'simple-json', nullable: true })
  egress!: EgressPolicy | null;

  /** Its resolvers; null: the node's. */
  @Column({ type: 'simple-json', nullable: true })
  dns!: DnsConfig | null;

  /**
   * Its address on its tenant's network, planned by the control plane when the row is stored
   * (see networks/tenant-addresses.ts); null without a NIC, and for rows older than the plan.
   */
  @Column({ type: 'varchar', length: 15, nullable: true })
  address!: string | null;

  /** The guest's address, once the node reports it. */
  @Column({ type: 'varchar', length: 45, nullable: true })
  ip!: string | null;
  /** How the node reaches the guest agent; null until the node reports it. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  transport!: AgentTransportName | null;

  /** How its VMM is fenced on the node; null until the node reports it. */
  @Column({ type: 'simple-json', nullable: true })
  isolation!: SandboxIsolation | null;

  /** A clone: the sandbox it was forked from (kept after that one is deleted); null otherwise. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  forkedFrom!: string | null;

  /** A clone: its fork request, shared by the clones its node starts from one capture of the source. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  forkId!: string | null;

  /** A clone: how many clones its fork request made. */
  @Column({ type: 'integer', nullable: true })
  forkCount!: number | null;

  /** The deployment that manages it, if any. */
  @Column({ type: 'varchar', length: 36, nullable: true })
  deploymentId!: string | null;

  @Column({ type: 'varchar', length: 36, nullable: true })
  templateId!: string | null;

  @Column({ type: 'integer', nullable: true })
  templateVersion!: number | null;

  /** What its template's health check last concluded (`healthy` once running when it has none). */
  @Column({ type: 'varchar', length: 16, default: 'unknown' })
  health!: SandboxHealth;

  /** What happens when its node reports it failed. */
  @Column('simple-json')
  restartPolicy!: RestartPolicy;

  /** How often its restart policy has started it again. */
  @Column({ type: 'integer', default: 0 })
  restartCount!: number;

  /** When its restart policy starts it again: set only while it is failed and a restart is left. */
  @Column({ type: Date, nullable: true })
  restartAt!: Date | null;

  /** Its state changes, oldest first, the latest MAX_SANDBOX_EVENTS only. */
  @Column('simple-json')
  events!: SandboxEvent[];

  /** Since when it has been healthy without interruption; gates rollouts (minHealthySeconds). */
  @Column({ type: Date, nullable: true })
  healthySince!: Date | null;

  @Column({ type: Date })
  createdAt!: Date;

  @Column({ type: Date })
  updatedAt!: Date;
}

/** What a new sandbox is asked to be; the rest of its row starts as nothing observed yet. */
export type SandboxRequest = Pick<
  SandboxEntity,
  | 'tenantId'
  | 'nodeId'
  | 'placedAt'
  | 'vcpus'
  | 'memoryMiB'
  | 'image'
  | 'command'
  | 'rootfs'
  | 'idleTimeoutSeconds'
  | 'env'
  | 'labels'
  | 'nodeSelector'
  | 'antiAffinityKey'
  | 'networkModel'
  | 'network'
  | 'ports'
  | 'egress'
  | 'dns'
  | 'deploymentId'
  | 'templateId'
  | 'templateVersion'
  | 'restartPolicy'
>;

/** The row of a sandbox about to be stored: pending, meant to run, with a fresh id. */
export function newSandbox(request: SandboxRequest, now: Date): SandboxEntity {
  return {
    restartCount: 0,
    restartAt: null,
    pendingReason: null,
    events: [{ at: now.toISOString(), state: 'pending' }],
    id: randomUUID(),
    state: 'pending',
    desiredState: 'running',
    desiredHibernated: false,
    savedBytes: null,
    movingTo: null,
    liveMove: false,
    forkedFrom: null,
    forkId: null,
    forkCount: null,
    progress: null,
    timings: [],
    error: null,
    guest: null,
    address: null,
    ip: null,
    transport: null,
    isolation: null,
    health: 'unknown',
    healthySince: null,
    createdAt: now,
    updatedAt: now,
    ...request,
  };
}

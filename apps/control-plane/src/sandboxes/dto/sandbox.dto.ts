import type { AgentTransportName, ContainerdSandbox } from '@moat/proto';
import { ApiProperty } from '@nestjs/swagger';
import {
  MAX_IDLE_TIMEOUT_SECONDS,
  MIN_IDLE_TIMEOUT_SECONDS,
  NETWORK_MODELS,
  ROOTFS_KINDS,
  SANDBOX_STATES,
  type NetworkModel,
  type RootfsKind,
  type SandboxState,
} from '@moat/proto';
import { PENDING_REASON_CODES, type PendingReasonCode } from '../model/pending-reason';
import { SANDBOX_HEALTH, type SandboxEntity, type SandboxHealth } from '../model/sandbox.entity';
import { DnsConfigDto, EgressPolicyDto, SandboxIsolationDto } from './sandbox-fences.dto';
import { RestartPolicyDto, SandboxEventDto } from './sandbox-lifecycle.dto';

class PhaseTimingDto {
  @ApiProperty({
    example: 'restore',
    description:
      'A start phase, in order: rootfs, sharefs, network (if any), vmm (a cold boot) or restore (restored from a boot snapshot; a failed restore is followed by vmm), agent, sandbox, container',
  })
  phase!: string;

  @ApiProperty({ example: 412 })
  ms!: number;
}

class SandboxErrorDto {
  @ApiProperty({ example: 'SANDBOX_LOST' })
  code!: string;

  @ApiProperty()
  message!: string;
}

class PendingReasonDto {
  @ApiProperty({ enum: PENDING_REASON_CODES, example: 'INSUFFICIENT_VCPUS' })
  code!: PendingReasonCode;

  @ApiProperty({ example: 'no ready node has 2 free vCPUs; largest free: 1' })
  message!: string;
}

class ProgressDto {
  @ApiProperty({ enum: ['pull'] })
  phase!: 'pull';

  @ApiProperty()
  bytesDone!: number;

  @ApiProperty()
  bytesTotal!: number;
}

class GuestDto {
  @ApiProperty({ example: '6.1.0-28-amd64' })
  kernelRelease!: string;

  @ApiProperty()
  agentVersion!: string;
}

export class PortDto {
  @ApiProperty({ minimum: 1, maximum: 65535, example: 80 })
  containerPort!: number;

  @ApiProperty({ required: false, minimum: 1, maximum: 65535, description: 'Port on the node; picked by the node when not given' })
  hostPort?: number;

  @ApiProperty({ enum: ['tcp', 'udp'] })
  protocol!: 'tcp' | 'udp';
}

/** Who started a sandbox: Moat's API (placed by its scheduler), or containerd on its node. */
export const SANDBOX_ORIGINS = ['moat', 'containerd'] as const;
export type SandboxOrigin = (typeof SANDBOX_ORIGINS)[number];

export class ContainerdTaskDto {
  @ApiProperty({ example: 'default', description: 'Its containerd namespace (`ctr -n`)' })
  namespace!: string;

  @ApiProperty({ example: 'web', description: 'Its task id in that namespace' })
  id!: string;
}

/** A sandbox as the API and the dashboard see it. */
export class SandboxDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({
    enum: SANDBOX_ORIGINS,
    description:
      'moat: created through this API and placed by the scheduler. containerd: a containerd task (`ctr run --runtime io.containerd.moat.v2`) its node runs as a sandbox VM; ' +
      'only the admin sees these, they count against their node\'s capacity, and every change (delete, exec, pause, files…) answers 409 MANAGED_BY_CONTAINERD: containerd owns them',
  })
  origin!: SandboxOrigin;

  @ApiProperty({ required: false, type: ContainerdTaskDto, description: 'With origin containerd: the task it runs' })
  containerd?: ContainerdTaskDto;

  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'null: a sandbox containerd started (no tenant owns it)' })
  tenantId!: string | null;

  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'null until placed' })
  nodeId!: string | null;

  @ApiProperty({
    enum: SANDBOX_STATES,
    description:
      'pending → creating → running; hibernating → hibernated (its VM saved on its node and released) → waking → running; ' +
      'migrating (live-migrated to another node while it runs) → running there, or on its own node again when the migration failed; ' +
      'stopping while being deleted; failed; unknown while its node is away',
  })
  state!: SandboxState;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    minimum: 0,
    description: 'While hibernated: the bytes its saved state (VM state and writable rootfs) takes on its node; null otherwise',
  })
  savedBytes!: number | null;

  @ApiProperty({
    type: PendingReasonDto,
    nullable: true,
    description:
      'Why the scheduler has not placed it yet, as of its last try (retried whenever room may have appeared: a node says hello, comes back, is uncordoned or relabelled, a sandbox is deleted); null once placed',
  })
  pendingReason!: PendingReasonDto | null;

  @ApiProperty()
  vcpus!: number;

  @ApiProperty()
  memoryMiB!: number;

  @ApiProperty({ nullable: true, type: String })
  image!: string | null;

  @ApiProperty({ nullable: true, type: [String], description: "Replaces the image's Entrypoint and Cmd" })
  command!: string[] | null;

  @ApiProperty({ nullable: true, enum: ROOTFS_KINDS, description: "null: the node's default" })
  rootfs!: RootfsKind | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    minimum: MIN_IDLE_TIMEOUT_SECONDS,
    maximum: MAX_IDLE_TIMEOUT_SECONDS,
    description: 'Auto-hibernate: it hibernates once unused this long (no exec, attach, file transfer or network traffic); null: never',
  })
  idleTimeoutSeconds!: number | null;

  @ApiProperty({ required: false, type: ProgressDto, description: 'Image pull progress, while creating' })
  progress?: ProgressDto;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  env!: Record<string, string>;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  labels!: Record<string, string>;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  nodeSelector!: Record<string, string>;

  @ApiProperty({ type: [PhaseTimingDto], description: 'Start phases in the order they ran' })
  timings!: PhaseTimingDto[];

  @ApiProperty({ required: false, type: SandboxErrorDto })
  error?: SandboxErrorDto;

  @ApiProperty({ required: false, type: GuestDto })
  guest?: GuestDto;

  @ApiProperty({
    format: 'uuid',
    nullable: true,
    type: String,
    description: 'A clone (POST /v1/sandboxes/{id}/fork): the sandbox it was forked from, which may since be gone; null otherwise',
  })
  forkedFrom!: string | null;

  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The deployment managing it' })
  deploymentId!: string | null;

  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  templateId!: string | null;

  @ApiProperty({ nullable: true, type: Number })
  templateVersion!: number | null;

  @ApiProperty({ enum: SANDBOX_HEALTH, description: "Its template's health check verdict" })
  health!: SandboxHealth;
  @ApiProperty({ enum: NETWORK_MODELS, nullable: true, type: String, description: "null: the node's MOAT_NETWORK_MODEL" })
  networkModel!: NetworkModel | null;

  @ApiProperty({ description: 'false: the sandbox has no network interface' })
  network!: boolean;

  @ApiProperty({
    nullable: true,
    type: String,
    example: '10.88.0.5',
    description: "The guest's address on its tenant network: as its node reports it, else as the control plane planned it; null without a network",
  })
  ip!: string | null;

  @ApiProperty({ type: [PortDto], description: 'Published ports; hostPort is filled in once the node published them' })
  ports!: PortDto[];

  @ApiProperty({
    type: EgressPolicyDto,
    nullable: true,
    description: 'Where its traffic leaving its tenant network may go; null: everywhere but the node itself, 169.254.0.0/16 and other tenants',
  })
  egress!: EgressPolicyDto | null;

  @ApiProperty({ type: DnsConfigDto, nullable: true, description: "Its resolvers; null: the node's" })
  dns!: DnsConfigDto | null;

  @ApiProperty({ type: SandboxIsolationDto, nullable: true, description: 'How its VMM is fenced on its node; null until the node reports it' })
  isolation!: SandboxIsolationDto | null;

  @ApiProperty({ type: RestartPolicyDto, description: 'What happens when its node reports it failed' })
  restartPolicy!: RestartPolicyDto;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'How often its restart policy has started it again' })
  restartCount!: number;

  @ApiProperty({
    type: [SandboxEventDto],
    description: 'Its state changes with their time and, for failures, restarts, deletes and refused hibernations, a reason; oldest first, the latest 50',
  })
  events!: SandboxEventDto[];

  @ApiProperty({
    required: false,
    enum: ['vsock', 'hybrid-vsock', 'virtio-serial'],
    description: 'How the node reaches the guest agent: vsock (QEMU vhost-vsock), hybrid-vsock (Firecracker, Cloud Hypervisor) or virtio-serial',
  })
  transport?: AgentTransportName;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;

  /** A sandbox containerd started, as its node reported it: its task, size and state; nothing else is known of it. */
  static fromContainerd(sandbox: ContainerdSandbox & { nodeId: string }): SandboxDto {
    return {
      id: sandbox.id,
      origin: 'containerd',
      containerd: { namespace: sandbox.containerd.namespace, id: sandbox.containerd.id },
      tenantId: null,
      nodeId: sandbox.nodeId,
      state: sandbox.state,
      savedBytes: null,
      pendingReason: null,
      vcpus: sandbox.vcpus,
      memoryMiB: sandbox.memoryMiB,
      image: null,
      command: null,
      rootfs: null,
      idleTimeoutSeconds: null,
      env: {},
      labels: {},
      nodeSelector: {},
      timings: [],
      forkedFrom: null,
      deploymentId: null,
      templateId: null,
      templateVersion: null,
      health: 'unknown',
      networkModel: null,
      network: false,
      ip: null,
      ports: [],
      egress: null,
      dns: null,
      isolation: null,
      restartPolicy: { type: 'never' },
      restartCount: 0,
      events: [{ at: sandbox.since, state: sandbox.state }],
      createdAt: sandbox.since,
      updatedAt: sandbox.since,
    };
  }

  static from(sandbox: SandboxEntity): SandboxDto {
    return {
      id: sandbox.id,
      origin: 'moat',
      tenantId: sandbox.tenantId,
      nodeId: sandbox.nodeId,
      state: sandbox.state,
      savedBytes: sandbox.state === 'hibernated' ? sandbox.savedBytes : null,
      pendingReason: sandbox.state === 'pending' && !sandbox.nodeId ? (sandbox.pendingReason ?? null) : null,
      vcpus: sandbox.vcpus,
      memoryMiB: sandbox.memoryMiB,
      image: sandbox.image,
      command: sandbox.command,
      rootfs: sandbox.rootfs,
      idleTimeoutSeconds: sandbox.idleTimeoutSeconds,
      ...(sandbox.progress && sandbox.state === 'creating' ? { progress: sandbox.progress } : {}),
      env: sandbox.env,
      labels: sandbox.labels,
      nodeSelector: sandbox.nodeSelector,
      timings: sandbox.timings,
      ...(sandbox.error ? { error: sandbox.error } : {}),
      ...(sandbox.guest ? { guest: sandbox.guest } : {}),
      forkedFrom: sandbox.forkedFrom,
      deploymentId: sandbox.deploymentId,
      templateId: sandbox.templateId,
      templateVersion: sandbox.templateVersion,
      health: sandbox.health,
      networkModel: sandbox.networkModel,
      network: sandbox.network,
      // The node's report wins: a node older than the fleet-wide plan picks its own address.
      ip: sandbox.ip ?? sandbox.address,
      ports: sandbox.ports,
      egress: sandbox.egress,
      dns: sandbox.dns,
      isolation: sandbox.isolation,
      restartPolicy: sandbox.restartPolicy,
      restartCount: sandbox.restartCount,
      events: sandbox.events,
      ...(sandbox.transport ? { transport: sandbox.transport } : {}),
      createdAt: sandbox.createdAt.toISOString(),
      updatedAt: sandbox.updatedAt.toISOString(),
    };
  }
}

import { ApiProperty } from '@nestjs/swagger';
import { NODE_STATES, type Accelerator, type NodeState } from '@moat/proto';
import type { Allocation } from '../scheduler/allocation';
import { allocatable, NO_SIZING, reserved, type OvercommitFallback } from '../scheduler/node-offer';
import type { NodeEntity } from './node.entity';

export class WarmPoolSizeDto {
  @ApiProperty({ minimum: 1 })
  vcpus!: number;

  @ApiProperty({ minimum: 1 })
  memoryMiB!: number;

  @ApiProperty({ minimum: 1, description: 'VMs of this shape kept restored and waiting' })
  count!: number;
}

export class CapacityDto {
  @ApiProperty({ minimum: 0 })
  vcpus!: number;

  @ApiProperty({ minimum: 0 })
  memoryMiB!: number;
}

/** A node as the API and the dashboard see it. */
export class NodeDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty({ enum: NODE_STATES })
  state!: NodeState;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, example: { zone: 'eu-1' } })
  labels!: Record<string, string>;

  @ApiProperty({ type: CapacityDto, description: 'Real host CPUs and memory, as the node reported them' })
  capacity!: CapacityDto;

  @ApiProperty({
    type: CapacityDto,
    description:
      "What it offers to sandboxes: its CPUs times its cpuOvercommit, and its memory less its memoryReserveMiB, times the control plane's MOAT_MEMORY_OVERCOMMIT (rounded down); less, from both, what its warmPool holds and what the VMs containerd started there hold (each its vCPUs, and its memory plus sandboxOverheadMiB; listed in GET /v1/sandboxes with origin \"containerd\")",
  })
  allocatable!: CapacityDto;

  @ApiProperty({
    type: CapacityDto,
    description: 'What the sandboxes placed here that should run reserve: their vCPUs, and their memory plus sandboxOverheadMiB each',
  })
  allocated!: CapacityDto;

  @ApiProperty({ minimum: 0, description: "Memory each sandbox costs the node beyond its memoryMiB (its VMM's overhead); 0 when the agent does not say" })
  sandboxOverheadMiB!: number;

  @ApiProperty({ description: "vCPUs offered per host CPU: the node's MOAT_NODE_CPU_OVERCOMMIT, else the control plane's MOAT_CPU_OVERCOMMIT" })
  cpuOvercommit!: number;

  @ApiProperty({ minimum: 0, description: 'Memory the node keeps for its host (MOAT_NODE_MEMORY_RESERVE_MIB); 0 when the agent does not say' })
  memoryReserveMiB!: number;

  @ApiProperty({
    type: [WarmPoolSizeDto],
    description:
      "Its warm pool (MOAT_WARM_POOL): VMs per shape restored ahead of time and handed to creates of that shape; what they hold (vCPUs, and memory plus sandboxOverheadMiB each) is not in `allocatable`. Empty: none, or the node cannot restore VMs",
  })
  warmPool!: WarmPoolSizeDto[];

  @ApiProperty({ description: 'Sandboxes placed here that should run' })
  sandboxCount!: number;

  @ApiProperty({ enum: ['kvm', 'tcg'] })
  accel!: Accelerator;

  @ApiProperty({ type: [String], example: ['qemu'] })
  hypervisors!: string[];

  @ApiProperty()
  agentVersion!: string;

  @ApiProperty({ description: 'Whether it jails its VMMs (own uid, namespaces, no capabilities, seccomp); false only on a node running with MOAT_JAIL=false, for debugging' })
  jailed!: boolean;

  @ApiProperty({ format: 'date-time' })
  lastHeartbeatAt!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  static from(node: NodeEntity, allocated: Allocation, fallback: OvercommitFallback): NodeDto {
    const sizing = node.sizing ?? NO_SIZING;
    return {
      id: node.id,
      name: node.name,
      state: node.state,
      labels: node.labels,
      capacity: node.capacity,
      allocatable: allocatable(node.capacity, sizing, fallback, node.containerdSandboxes ?? []),
      allocated: reserved(allocated, allocated.vms, sizing),
      sandboxOverheadMiB: sizing.sandboxOverheadMiB,
      cpuOvercommit: sizing.cpuOvercommit ?? fallback.cpuOvercommit,
      memoryReserveMiB: sizing.memoryReserveMiB,
      warmPool: (sizing.warmPool ?? []).map((size) => ({ ...size })),
      sandboxCount: allocated.sandboxes,
      accel: node.accel,
      hypervisors: node.hypervisors,
      agentVersion: node.agentVersion,
      jailed: node.jailed,
      lastHeartbeatAt: node.lastHeartbeatAt.toISOString(),
      createdAt: node.createdAt.toISOString(),
    };
  }
}

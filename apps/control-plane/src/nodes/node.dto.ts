import { ApiProperty } from '@nestjs/swagger';
import { NODE_STATES, type Accelerator, type Capacity, type NodeState } from '@moat/proto';
import type { NodeEntity } from './node.entity';

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

  @ApiProperty({ type: CapacityDto, description: 'Real capacity, before overcommit' })
  capacity!: CapacityDto;

  @ApiProperty({ type: CapacityDto, description: 'Sum over the sandboxes placed here that should run' })
  allocated!: CapacityDto;

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

  static from(node: NodeEntity, allocated: Capacity & { sandboxes: number }): NodeDto {
    return {
      id: node.id,
      name: node.name,
      state: node.state,
      labels: node.labels,
      capacity: node.capacity,
      allocated: { vcpus: allocated.vcpus, memoryMiB: allocated.memoryMiB },
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

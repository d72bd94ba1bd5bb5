import type { Accelerator, Capacity, NodeState } from '@moat/proto';
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('nodes')
export class NodeEntity {
  /** Chosen by the node agent and kept across its restarts. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 253 })
  name!: string;

  @Column({ type: 'varchar', length: 16 })
  state!: NodeState;

  @Column('simple-json')
  capacity!: Capacity;

  @Column({ type: 'varchar', length: 16 })
  accel!: Accelerator;

  @Column('simple-json')
  hypervisors!: string[];

  @Column({ type: 'varchar', length: 64 })
  agentVersion!: string;

  @Column({ type: Date })
  lastHeartbeatAt!: Date;

  @Column({ type: Date })
  createdAt!: Date;
}

import type { Accelerator, Capacity, ContainerdSandbox, NodeState } from '@moat/proto';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { NodeSizing } from '../scheduler/node-offer';

export type Unschedulable = 'cordoned' | 'draining';

@Entity('nodes')
export class NodeEntity {
  /** Chosen by the node agent and kept across its restarts. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 253 })
  name!: string;

  /** `down` when silent; otherwise `unschedulable` if set, else `ready`. */
  @Column({ type: 'varchar', length: 16 })
  state!: NodeState;

  /** Set by an admin: no new placements. Survives the node going down and coming back. */
  @Column({ type: 'varchar', length: 16, nullable: true })
  unschedulable!: Unschedulable | null;

  @Column('simple-json')
  labels!: Record<string, string>;

  /** SHA-256 of the node's credential; null for nodes that authenticate with the admin token. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  credentialHash!: string | null;

  /** Real host CPUs and memory, as its hello said. */
  @Column('simple-json')
  capacity!: Capacity;

  /** What its hello said it offers beyond that; null: an agent that says nothing of it. */
  @Column({ type: 'simple-json', nullable: true })
  sizing!: NodeSizing | null;

  @Column({ type: 'varchar', length: 16 })
  accel!: Accelerator;

  @Column('simple-json')
  hypervisors!: string[];

  @Column({ type: 'varchar', length: 64 })
  agentVersion!: string;

  /** Whether it jails its VMMs (false only under the agent's MOAT_JAIL=false, for debugging). */
  @Column({ type: 'boolean', default: true })
  jailed!: boolean;

  /**
   * Its IPv4 underlay address, from its last hello (or, when the hello gave none, the address
   * its connection came from): where other nodes send its tenants' overlay traffic.
   */
  @Column({ type: 'varchar', length: 15, nullable: true })
  address!: string | null;

  @Column({ type: Date })
  lastHeartbeatAt!: Date;

  /**
   * The sandboxes containerd started on it, as its latest heartbeat listed them: they hold its
   * memory and vCPUs, and the admin sees them. null: none, or the node is down (they were its
   * report). Written by NodesService alone.
   */
  @Column({ type: 'simple-json', nullable: true })
  containerdSandboxes!: ContainerdSandbox[] | null;

  @Column({ type: Date })
  createdAt!: Date;
}

/**
 * Ready, or not reconnected since the control plane started but ready once it says hello
 * (no admin made it unschedulable): a perNode deployment counts it and keeps its replica.
 */
export function wouldBeReady(node: Pick<NodeEntity, 'state' | 'unschedulable'>): boolean {
  return node.state === 'ready' || (node.state === 'unknown' && node.unschedulable === null);
}

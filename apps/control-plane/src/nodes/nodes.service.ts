import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { NodeHello } from '@moat/proto';
import { LessThan, Not, Repository } from 'typeorm';
import { ErrorCode, ApiError } from '../common/api.error';
import { UiChannel } from '../dashboard/ui.channel';
import { loadAllocations, NOTHING_ALLOCATED } from '../scheduler/allocation';
import { NodeDto } from './node.dto';
import { NodeEntity } from './node.entity';

@Injectable()
export class NodesService {
  constructor(
    @InjectRepository(NodeEntity) private readonly nodes: Repository<NodeEntity>,
    private readonly ui: UiChannel,
  ) {}

  async list(): Promise<NodeDto[]> {
    const [nodes, allocations] = await Promise.all([
      this.nodes.find({ order: { name: 'ASC' } }),
      loadAllocations(this.nodes.manager),
    ]);
    return nodes.map((node) => NodeDto.from(node, allocations.get(node.id) ?? NOTHING_ALLOCATED));
  }

  async get(id: string): Promise<NodeDto> {
    const node = await this.nodes.findOneBy({ id });
    if (!node) throw new ApiError(ErrorCode.NOT_FOUND, `node ${id} not found`);
    return this.view(node);
  }

  /** Whether the node is connected (ready or cordoned: cordoned nodes still run sandboxes). */
  async isUp(id: string): Promise<boolean> {
    return this.nodes.existsBy({ id, state: Not('down') });
  }

  /** Records a node that said hello: new or known, it is ready now (unless cordoned). */
  async register(id: string, hello: NodeHello): Promise<void> {
    const now = new Date();
    const known = await this.nodes.findOneBy({ id });
    const node = this.nodes.create({
      id,
      name: hello.name,
      state: known?.state === 'cordoned' ? 'cordoned' : 'ready',
      capacity: hello.capacity,
      accel: hello.accel,
      hypervisors: hello.hypervisors,
      agentVersion: hello.agentVersion,
      lastHeartbeatAt: now,
      createdAt: known?.createdAt ?? now,
    });
    await this.nodes.save(node);
    await this.announce(id);
  }

  /** Notes a heartbeat; a node marked down meanwhile is ready again. Returns whether it was down. */
  async heartbeat(id: string): Promise<boolean> {
    await this.nodes.update({ id }, { lastHeartbeatAt: new Date() });
    const revived = await this.nodes.update({ id, state: 'down' }, { state: 'ready' });
    if (revived.affected) await this.announce(id);
    return Boolean(revived.affected);
  }

  async markDown(id: string): Promise<void> {
    const result = await this.nodes.update({ id, state: Not('down') }, { state: 'down' });
    if (result.affected) await this.announce(id);
  }

  /** Nodes not marked down whose last heartbeat is older than `cutoff`. */
  async silentSince(cutoff: Date): Promise<string[]> {
    const nodes = await this.nodes.find({
      select: { id: true },
      where: { state: Not('down'), lastHeartbeatAt: LessThan(cutoff) },
    });
    return nodes.map((node) => node.id);
  }

  /** Pushes the node's current representation to dashboards. */
  async announce(id: string): Promise<void> {
    const node = await this.nodes.findOneBy({ id });
    if (node) this.ui.nodeUpdated(await this.view(node));
  }

  /** Pushes several nodes to dashboards, computing allocations once for all of them. */
  async announceMany(ids: readonly string[]): Promise<void> {
    if (ids.length === 1) return this.announce(ids[0]);
    const wanted = new Set(ids);
    const [nodes, allocations] = await Promise.all([this.nodes.find(), loadAllocations(this.nodes.manager)]);
    nodes
      .filter((node) => wanted.has(node.id))
      .forEach((node) => this.ui.nodeUpdated(NodeDto.from(node, allocations.get(node.id) ?? NOTHING_ALLOCATED)));
  }

  private async view(node: NodeEntity): Promise<NodeDto> {
    const allocations = await loadAllocations(this.nodes.manager, node.id);
    return NodeDto.from(node, allocations.get(node.id) ?? NOTHING_ALLOCATED);
  }
}

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { NODE_CREDENTIAL_PREFIX } from '@moat/proto';
import { randomUUID } from 'node:crypto';
import { IsNull, MoreThan, Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { generateSecret, hashApiKey, JOIN_TOKEN_PREFIX, tokensEqual } from '../auth/token';
import { ErrorCode, ApiError } from '../common/api.error';
import { FleetAdmission } from '../common/fleet-admission';
import { Transactions } from '../database/transactions.service';
import { NOTHING_ALLOCATED } from '../scheduler/allocation';
import { CreateJoinTokenDto, JoinNodeDto, JoinTokenDto, NodeCredentialDto } from './dto/node-requests.dto';
import { JoinTokenEntity } from './join-token.entity';
import { NodeEntity } from './node.entity';
import { NodesService } from './nodes.service';

const DEFAULT_JOIN_TOKEN_TTL_S = 3600;

/**
 * How nodes join: single-use join tokens (the one writer of `join_tokens`), exchanged for a
 * node's own credential, which then authenticates its agent.
 */
@Injectable()
export class NodeJoining {
  constructor(
    @InjectRepository(NodeEntity) private readonly nodeRows: Repository<NodeEntity>,
    @InjectRepository(JoinTokenEntity) private readonly joinTokens: Repository<JoinTokenEntity>,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    private readonly nodes: NodesService,
    private readonly admission: FleetAdmission,
  ) {}

  /** A single-use join token; only its hash is kept. */
  async createJoinToken(dto: CreateJoinTokenDto): Promise<JoinTokenDto> {
    const { key, hash } = generateSecret(JOIN_TOKEN_PREFIX);
    const now = new Date();
    const entity = this.joinTokens.create({
      id: randomUUID(),
      hash,
      labels: dto.labels ?? {},
      expiresAt: new Date(now.getTime() + (dto.ttlSeconds ?? DEFAULT_JOIN_TOKEN_TTL_S) * 1000),
      createdAt: now,
      usedAt: null,
      usedByNodeId: null,
    });
    await this.joinTokens.insert(entity);
    return { id: entity.id, token: key, expiresAt: entity.expiresAt.toISOString() };
  }

  /**
   * Exchanges a join token for the node's own credential. The token is spent in the same
   * transaction that stores the credential's hash, so it works exactly once.
   */
  async join(dto: JoinNodeDto): Promise<NodeCredentialDto> {
    await this.admission.pass();
    const { key, hash } = generateSecret(NODE_CREDENTIAL_PREFIX);
    const outcome = await this.transactions.run(async (manager) => {
      const now = new Date();
      const spent = await manager.update(
        JoinTokenEntity,
        { hash: hashApiKey(dto.token), usedAt: IsNull(), expiresAt: MoreThan(now) },
        { usedAt: now, usedByNodeId: dto.nodeId },
      );
      if (!spent.affected) return 'invalid-token' as const;
      const token = await manager.findOneByOrFail(JoinTokenEntity, { hash: hashApiKey(dto.token) });
      const known = await manager.findOneBy(NodeEntity, { id: dto.nodeId });
      if (known?.credentialHash) return 'taken' as const;
      // The node shows up (down) until its agent connects and says hello.
      await manager.save(
        NodeEntity,
        known
          ? { ...known, credentialHash: hash, labels: { ...known.labels, ...token.labels } }
          : manager.create(NodeEntity, {
              id: dto.nodeId,
              name: dto.name,
              state: 'down',
              unschedulable: null,
              labels: token.labels,
              credentialHash: hash,
              capacity: NOTHING_ALLOCATED,
              accel: 'tcg',
              hypervisors: [],
              agentVersion: '',
              jailed: true,
              lastHeartbeatAt: now,
              createdAt: now,
            }),
      );
      return 'joined' as const;
    });
    // A refused join leaves the token unspent only if it was never valid: nothing to undo.
    this.audit.record({
      actorKind: 'node',
      actorId: dto.nodeId,
      tenantId: null,
      action: 'node.join',
      targetType: 'node',
      targetId: dto.nodeId,
      result: outcome === 'joined' ? 'success' : 'failure',
      status: outcome === 'joined' ? 201 : outcome === 'taken' ? 409 : 401,
      message: outcome === 'joined' ? null : outcome,
    });
    switch (outcome) {
      case 'invalid-token':
        throw new ApiError(ErrorCode.UNAUTHENTICATED, 'the join token is unknown, expired or already used');
      case 'taken':
        throw new ApiError(ErrorCode.CONFLICT, `node ${dto.nodeId} has joined already`);
      case 'joined':
        await this.nodes.announce(dto.nodeId);
        return { nodeId: dto.nodeId, credential: key };
    }
  }

  /** Whether `token` is the credential of node `nodeId`. */
  async credentialMatches(nodeId: string, token: string): Promise<boolean> {
    if (!token.startsWith(NODE_CREDENTIAL_PREFIX)) return false;
    const node = await this.nodeRows.findOne({ select: { id: true, credentialHash: true }, where: { id: nodeId } });
    return Boolean(node?.credentialHash && tokensEqual(hashApiKey(token), node.credentialHash));
  }
}

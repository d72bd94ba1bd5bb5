import { Injectable } from '@nestjs/common';
import { agentAuthSchema } from '@moat/proto';
import { AuthService } from '../auth/auth.service';
import { NodeJoining } from '../nodes/node-joining.service';

/**
 * Decides whether a socket may act as a node agent: it presents its node id and that node's
 * credential (from `POST /v1/nodes/join`). The admin token is accepted too, so that a
 * single-host install (`npm start`) needs no join step.
 */
@Injectable()
export class AgentAuthenticator {
  constructor(
    private readonly auth: AuthService,
    private readonly joining: NodeJoining,
  ) {}

  /** The node the handshake speaks for, or undefined if it may not connect. */
  async authenticate(handshakeAuth: unknown): Promise<{ nodeId: string } | undefined> {
    const parsed = agentAuthSchema.safeParse(handshakeAuth);
    if (!parsed.success) return undefined;
    const { token, nodeId } = parsed.data;
    if (this.auth.isAdminToken(token) || (await this.joining.credentialMatches(nodeId, token))) return { nodeId };
    return undefined;
  }
}

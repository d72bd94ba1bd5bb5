import { Injectable } from '@nestjs/common';
import { agentAuthSchema } from '@moat/proto';
import { AuthService } from '../auth/auth.service';

/**
 * Decides whether a socket may act as a node agent. For now every node presents the admin
 * token; per-node join tokens will replace this one class.
 */
@Injectable()
export class AgentAuthenticator {
  constructor(private readonly auth: AuthService) {}

  /** The node the handshake speaks for, or undefined if it may not connect. */
  authenticate(handshakeAuth: unknown): { nodeId: string } | undefined {
    const parsed = agentAuthSchema.safeParse(handshakeAuth);
    if (!parsed.success || !this.auth.isAdminToken(parsed.data.token)) return undefined;
    return { nodeId: parsed.data.nodeId };
  }
}

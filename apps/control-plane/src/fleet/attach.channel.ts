import { Injectable } from '@nestjs/common';
import { SESSION_OUTPUT_ACK_TIMEOUT_MS, type AttachClientEvents, type AttachServerEvents, type ErrorInfo, type SessionExit, type SessionOutput } from '@moat/proto';
import type { Namespace } from 'socket.io';
import type { Principal } from '../auth/principal';

export interface AttachSocketData {
  /** Set by the gateway's auth middleware. */
  principal: Principal;
  /** Set by `attach:start`; one session per connection. */
  session?: { sessionId: string; nodeId: string };
}

export type AttachNamespace = Namespace<AttachClientEvents, AttachServerEvents, Record<string, never>, AttachSocketData>;

/** The attach client of a session joins this room, so any replica can reach it through the adapter. */
export const sessionRoom = (sessionId: string): string => `session:${sessionId}`;

/** Carries what node agents report about sessions to the attach clients (namespace `/attach`). */
@Injectable()
export class AttachChannel {
  private namespace?: AttachNamespace;

  attach(namespace: AttachNamespace): void {
    this.namespace = namespace;
  }

  /** Resolves true once the client acknowledged the chunk; false if it is gone or too slow. */
  async output({ sessionId, stream, data }: SessionOutput): Promise<boolean> {
    if (!this.namespace) return false;
    try {
      const acks = await this.namespace.to(sessionRoom(sessionId)).timeout(SESSION_OUTPUT_ACK_TIMEOUT_MS).emitWithAck('attach:output', { stream, data });
      return acks.length > 0;
    } catch {
      return false;
    }
  }

  exit({ sessionId, ...exit }: SessionExit): void {
    this.namespace?.to(sessionRoom(sessionId)).emit('attach:exit', exit);
  }

  error(sessionId: string, error: ErrorInfo): void {
    this.namespace?.to(sessionRoom(sessionId)).emit('attach:error', error);
  }
}

import type { Server } from '@grpc/grpc-js';

/**
 * Where the host's gRPC connections come from. Every transport ends in the same grpc-js server;
 * they differ in how host bytes reach it (a unix socket directly, or a bridge from a device).
 */
export interface AgentTransport {
  /** For logs, e.g. `virtio-serial agent.channel.0 (/dev/vport2p1)`. */
  readonly description: string;
  /** The unix socket the gRPC server is bound to (other listeners splice connections to it). */
  readonly serverSocket: string;
  /** Binds `server` and starts accepting host connections. */
  listen(server: Server): Promise<void>;
  close(): Promise<void>;
}

import type { AgentTransport } from '../agent/transport/agent-transport';

/** For specs whose guest agent is a gRPC server on a unix socket: the channel connects to it directly, no handshake. */
export function unixAgentTransport(socketPath: string): AgentTransport {
  return { kind: 'virtio-serial', grpcTarget: `unix://${socketPath}`, close: () => undefined };
}

import { VirtioSerialTransport } from './virtio-serial.transport';

export type AgentTransportKind = 'virtio-serial';

/** How the host reaches the guest agent's gRPC server (Kata's agent `Sock` kinds). */
export interface AgentTransport {
  readonly kind: AgentTransportKind;
  /** A grpc-js target string. */
  readonly grpcTarget: string;
}

/** Paths a transport may need; each VMM exposes the guest channel as a host unix socket. */
export interface AgentTransportPaths {
  agentSocket: string;
}

/**
 * vsock and hybrid vsock need /dev/vhost-vsock or Firecracker/Cloud Hypervisor; virtio-serial
 * works on every QEMU host, which is why it is the one implemented first.
 */
export function createAgentTransport(kind: AgentTransportKind, paths: AgentTransportPaths): AgentTransport {
  switch (kind) {
    case 'virtio-serial':
      return new VirtioSerialTransport(paths.agentSocket);
  }
}

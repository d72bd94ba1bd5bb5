export const AGENT_TRANSPORT_KINDS = ['vsock', 'hybrid-vsock', 'virtio-serial'] as const;
export type AgentTransportKind = (typeof AGENT_TRANSPORT_KINDS)[number];

/** How the host reaches the guest agent's gRPC server (Kata's agent `Sock` kinds). */
export interface AgentTransport {
  readonly kind: AgentTransportKind;
  /** A grpc-js target string. */
  readonly grpcTarget: string;
  /** Releases what the transport holds on the host (a proxy socket); the VM is not touched. */
  close(): void;
}

/** Paths and addresses a transport may need. */
export interface AgentTransportPaths {
  /** virtio-serial: QEMU's chardev socket. */
  agentSocket: string;
  /** The unix socket the gRPC channel connects to (a splicing proxy). */
  proxySocket?: string;
  /** hybrid vsock: the VMM's vsock unix socket. */
  vsockUds?: string;
  /** vsock: the guest's context id. */
  guestCid?: number;
}

/** What the host offers, for {@link chooseAgentTransport}. */
export interface TransportCapabilities {
  hypervisor: 'qemu' | 'firecracker' | 'cloud-hypervisor';
  /** `/dev/vhost-vsock` opens read-write (QEMU's `vhost-vsock-pci` needs it). */
  vhostVsock: boolean;
}

/**
 * The best transport the host and VMM support: Firecracker and Cloud Hypervisor only speak
 * hybrid vsock; QEMU uses vhost-vsock when the host has it, else virtio-serial (no vsock
 * module on the host, as on the development machines).
 */
export function chooseAgentTransport(caps: TransportCapabilities): AgentTransportKind {
  if (caps.hypervisor !== 'qemu') return 'hybrid-vsock';
  return caps.vhostVsock ? 'vsock' : 'virtio-serial';
}

import { AGENT_VSOCK_PORT } from '@moat/proto';
import type { AgentTransport, AgentTransportKind, AgentTransportPaths } from './agent-transport';
import { ConnectionProxy } from './connection-proxy';
import { dialHybridVsock } from './hybrid-vsock.dialer';
import { dialVirtioSerial } from './virtio-serial.dialer';
import { dialVsock } from './vsock.dialer';

const HANDSHAKE_TIMEOUT_MS = 5_000;

/** A transport whose connections go through a {@link ConnectionProxy}. */
class ProxiedTransport implements AgentTransport {
  readonly grpcTarget: string;
  private readonly proxy: ConnectionProxy;

  constructor(
    readonly kind: AgentTransportKind,
    proxySocket: string,
    dial: ConstructorParameters<typeof ConnectionProxy>[1],
  ) {
    this.proxy = new ConnectionProxy(proxySocket, dial);
    this.grpcTarget = `unix://${proxySocket}`;
  }

  close(): void {
    this.proxy.close();
  }
}

export function createAgentTransport(kind: AgentTransportKind, paths: AgentTransportPaths): AgentTransport {
  switch (kind) {
    case 'virtio-serial':
      return new ProxiedTransport(kind, required(paths.proxySocket, 'proxySocket'), (signal) => dialVirtioSerial(paths.agentSocket, signal));
    case 'hybrid-vsock': {
      const udsPath = required(paths.vsockUds, 'vsockUds');
      return new ProxiedTransport(kind, required(paths.proxySocket, 'proxySocket'), () =>
        dialHybridVsock({ udsPath, port: AGENT_VSOCK_PORT, handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS }),
      );
    }
    case 'vsock': {
      const cid = required(paths.guestCid, 'guestCid');
      return new ProxiedTransport(kind, required(paths.proxySocket, 'proxySocket'), () => dialVsock(cid, AGENT_VSOCK_PORT));
    }
  }
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new TypeError(`the ${name} path is needed for this transport`);
  return value;
}

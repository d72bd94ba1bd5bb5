import { createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import type { Duplex } from 'node:stream';

/** Opens one byte stream to the guest agent, handshake included; `signal` aborts when the client goes. */
export type Dialer = (signal: AbortSignal) => Promise<Duplex>;

/**
 * A unix socket the gRPC channel connects to; every connection is spliced to a fresh stream
 * opened by `dial` (hybrid vsock's `CONNECT` handshake, an AF_VSOCK socket, virtio-serial's
 * sync handshake). grpc-js cannot dial those itself, and this keeps every transport a plain
 * unix-socket target for it.
 */
export class ConnectionProxy {
  private readonly server: Server;
  private readonly open = new Set<Duplex>();
  /** Why the last dial failed; added to errors so a sandbox says why its agent is unreachable. */
  lastError?: Error;

  constructor(
    readonly socketPath: string,
    private readonly dial: Dialer,
  ) {
    rmSync(socketPath, { force: true });
    this.server = createServer((client) => void this.splice(client));
    this.server.on('error', (error) => {
      this.lastError = error;
    });
    this.server.listen(socketPath);
  }

  close(): void {
    this.server.close();
    for (const stream of this.open) stream.destroy();
    rmSync(this.socketPath, { force: true });
  }

  private async splice(client: Socket): Promise<void> {
    client.on('error', () => undefined);
    const clientGone = new AbortController();
    client.once('close', () => clientGone.abort());
    let guest: Duplex;
    try {
      guest = await this.dial(clientGone.signal);
    } catch (error) {
      this.lastError = error as Error;
      client.destroy();
      return;
    }
    if (client.destroyed) {
      guest.destroy();
      return;
    }
    this.open.add(guest).add(client);
    const teardown = (): void => {
      client.destroy();
      guest.destroy();
      this.open.delete(guest);
      this.open.delete(client);
    };
    guest.on('error', (error: Error) => {
      this.lastError = error;
      teardown();
    });
    guest.once('close', teardown);
    client.once('close', teardown);
    // pipe() applies back-pressure both ways.
    client.pipe(guest);
    guest.pipe(client);
  }
}

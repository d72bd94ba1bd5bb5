import { createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { TtrpcError } from '../errors/ttrpc.error';
import { ServerConnection } from './server-connection';
import { ServiceRegistry, type ServiceMethods } from './service-registry';

/**
 * A ttrpc server of unary methods (containerd/ttrpc 1.1.1's wire protocol). Register services
 * by full name, then `listen` on a unix socket, or hand it connections with `handleConnection`
 * (e.g. from a listener inherited as a file descriptor).
 *
 * A request for an unknown service or method is answered UNIMPLEMENTED; a handler that throws a
 * TtrpcError answers with its code and message, anything else it throws with UNKNOWN.
 */
export class TtrpcServer {
  private readonly registry = new ServiceRegistry();
  private readonly connections = new Set<ServerConnection>();
  private listener: Server | undefined;

  /** Adds `service` (full name, e.g. `containerd.task.v2.Task`) with its methods by name (`Create`). */
  register(service: string, methods: ServiceMethods): void {
    this.registry.register(service, methods);
  }

  /** Serves one connection until it closes or the server does. */
  handleConnection(stream: Duplex): void {
    const connection = new ServerConnection(stream, this.registry, () => this.connections.delete(connection));
    this.connections.add(connection);
  }

  /** Listens on the unix socket `path` (which must not exist yet). */
  async listen(path: string): Promise<void> {
    if (this.listener !== undefined) throw new TtrpcError('FAILED_PRECONDITION', 'ttrpc server is already listening');
    const listener = createServer((socket) => this.handleConnection(socket));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', (cause) => reject(new TtrpcError('UNAVAILABLE', `listen on ${path}: ${cause.message}`, { cause })));
      listener.listen(path, resolve);
    });
    this.listener = listener;
  }

  /** Stops listening (removing the socket) and closes every connection; running handlers see their signal abort. */
  async close(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    for (const connection of this.connections) connection.close();
    if (listener !== undefined) await new Promise<void>((resolve) => listener.close(() => resolve()));
  }
}

import type { Server } from '@grpc/grpc-js';
import { rm } from 'node:fs/promises';
import type { AgentTransport } from '../agent-transport';
import { bindUnixSocket } from './unix-socket';

/** The host connects to a unix socket directly: tests on the host, and hybrid setups that forward one. */
export class UnixSocketTransport implements AgentTransport {
  readonly description: string;

  constructor(readonly serverSocket: string) {
    this.description = `unix ${serverSocket}`;
  }

  listen(server: Server): Promise<void> {
    return bindUnixSocket(server, this.serverSocket);
  }

  async close(): Promise<void> {
    await rm(this.serverSocket, { force: true });
  }
}

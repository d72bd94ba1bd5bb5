import type { Server } from '@grpc/grpc-js';
import { rm } from 'node:fs/promises';
import type { AgentTransport } from '../agent-transport';
import { bindUnixSocket } from './unix-socket';

/** The host connects to a unix socket directly: tests on the host, and hybrid setups that forward one. */
export class UnixSocketTransport implements AgentTransport {
  readonly description: string;

  constructor(private readonly path: string) {
    this.description = `unix ${path}`;
  }

  listen(server: Server): Promise<void> {
    return bindUnixSocket(server, this.path);
  }

  async close(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

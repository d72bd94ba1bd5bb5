import type { Server } from '@grpc/grpc-js';
import { createConnection } from 'node:net';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { AgentError, AgentErrorCode } from '../../errors/agent.error';
import type { Logger } from '../../log/logger';
import type { AgentTransport } from '../agent-transport';
import { bindUnixSocket } from '../unix/unix-socket';
import { SessionBridge } from './session-bridge';
import { findVirtioPort, VirtioPort } from './virtio-port.adapter';

/**
 * gRPC over a QEMU virtio-serial port. grpc-js cannot listen on a character device, so the
 * server listens on a private unix socket and a SessionBridge carries the port's bytes to it.
 */
export class VirtioSerialTransport implements AgentTransport {
  description: string;
  private bridge?: SessionBridge;

  constructor(
    private readonly portName: string,
    readonly serverSocket: string,
    private readonly log: Logger,
    /** Called when the port fails for good; the agent exits and init starts a fresh one. */
    private readonly onFatal: (error: unknown) => void,
  ) {
    this.description = `virtio-serial ${portName}`;
  }

  async listen(server: Server): Promise<void> {
    const devicePath = await findVirtioPort(this.portName);
    this.description = `virtio-serial ${this.portName} (${devicePath})`;
    await bindUnixSocket(server, this.serverSocket);
    const port = await VirtioPort.open(devicePath);
    this.bridge = new SessionBridge(port, () => this.connectToServer(), this.log);
    this.bridge.run().then(
      () => undefined,
      (cause: unknown) =>
        this.onFatal(new AgentError(AgentErrorCode.TRANSPORT_FAILED, `virtio-serial port ${devicePath} failed`, { cause })),
    );
  }

  async close(): Promise<void> {
    this.bridge?.stop();
    // A read blocked in the kernel keeps its threadpool thread; the process is about to exit anyway.
    await rm(this.serverSocket, { force: true });
  }

  private async connectToServer(): Promise<Duplex> {
    const socket = createConnection(this.serverSocket);
    await once(socket, 'connect');
    return socket;
  }
}

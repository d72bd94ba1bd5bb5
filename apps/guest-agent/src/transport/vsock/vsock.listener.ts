import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import { AGENT_VSOCK_PORT } from '@moat/proto';
import type { HostCommands } from '../../host/host-commands.adapter';
import type { Logger } from '../../log/logger';

const RESTART_DELAY_MS = 1_000;

/** socat's argv: accept vsock connections on `port` and splice each to the gRPC server's unix socket. */
export function vsockListenArgv(port: number, serverSocket: string): string[] {
  return ['-b65536', `VSOCK-LISTEN:${port},reuseaddr,fork`, `UNIX-CONNECT:${serverSocket}`];
}

/** /dev/vsock exists and opens: the VMM gave the guest a vsock device. */
export async function vsockUsable(device = '/dev/vsock'): Promise<boolean> {
  return access(device, constants.R_OK | constants.W_OK).then(
    () => true,
    () => false,
  );
}

/**
 * Serves the agent on vsock port 1024 beside virtio-serial when the guest has a vsock device
 * (QEMU vhost-vsock, Firecracker and Cloud Hypervisor). Node cannot open AF_VSOCK sockets, so
 * socat accepts them and splices each connection to the same gRPC server; socat is restarted
 * if it dies.
 */
export class VsockListener {
  private child?: ChildProcess;
  private stopped = false;

  constructor(
    private readonly host: HostCommands,
    private readonly serverSocket: string,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.stopped) return;
    const child = this.host.spawn('socat', vsockListenArgv(AGENT_VSOCK_PORT, this.serverSocket));
    this.child = child;
    child.stdin.end();
    child.stdout.resume();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    });
    child.once('error', (error) => this.log.error('cannot run socat for vsock', { error }));
    child.once('exit', (code) => {
      if (this.stopped) return;
      this.log.warn('vsock listener exited, restarting', { code, stderr: stderr.trim() });
      setTimeout(() => this.start(), RESTART_DELAY_MS).unref();
    });
  }

  stop(): void {
    this.stopped = true;
    this.child?.kill();
  }
}

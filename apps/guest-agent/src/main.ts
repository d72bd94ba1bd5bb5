import { Server } from '@grpc/grpc-js';
import { AGENT_SERVING_MESSAGE, AgentServiceService, FILE_TRANSFER_IDLE_MS, HealthService, MAX_OPEN_FILE_TRANSFERS } from '@moat/proto';
import { randomUUID } from 'node:crypto';
import { uptime } from 'node:os';
import { join } from 'node:path';
import packageJson from '../package.json';
import { loadAgentConfig } from './config/agent.config';
import { ContainerService } from './container/container.service';
import { Crun } from './container/crun.adapter';
import type { OciMount } from './container/oci-spec';
import { ContainerFiles } from './files/container-files';
import { FileHandles } from './files/file-handles';
import { ChildProcessHostCommands } from './host/host-commands.adapter';
import { createJsonLogger } from './log/logger';
import { NetworkService } from './network/network.service';
import type { ContainerProcess } from './process/container-process';
import { ProcessIoService } from './process/process-io.service';
import { ProcessTable } from './process/process-table';
import { agentServiceHandlers } from './rpc/agent-service.handlers';
import { healthHandlers } from './rpc/health.handlers';
import { GuestService } from './sandbox/guest.service';
import { SandboxService } from './sandbox/sandbox.service';
import { StorageMounter } from './storage/storage.mounter';
import { createTransport } from './transport/factory/transport.factory';
import { VsockListener, vsockUsable } from './transport/vsock/vsock.listener';

// Enough for a child that writes in bursts, small enough for many processes in a small guest.
const STREAM_LIMIT_BYTES = 1024 * 1024;
const START_TIMEOUT_MS = 30_000;

// A virtio-serial port holds one libuv threadpool thread in a blocking read(2) and, while no
// host is attached, another in a blocking write(2); the default pool of 4 would leave the RPC
// handlers' file operations two. libuv reads this when the pool first starts, which is later.
process.env.UV_THREADPOOL_SIZE ??= '8';

async function main(): Promise<void> {
  const log = createJsonLogger();
  // A bug that escapes a handler is logged; the agent is the sandbox's only door, so it keeps serving.
  process.on('uncaughtException', (error) => log.error('uncaught exception', { error }));
  process.on('unhandledRejection', (error) => log.error('unhandled rejection', { error }));
  // Without its console (EPIPE), logging that failure would fail again, in a loop that eats a CPU.
  process.stderr.on('error', () => undefined);

  const config = loadAgentConfig(process.env, __dirname);
  const version = packageJson.version;
  const host = new ChildProcessHostCommands();
  const mounter = new StorageMounter(host);
  const processes = new ProcessTable<ContainerProcess>();
  const containers = new ContainerService(
    new Crun(config.crun, host),
    mounter,
    processes,
    log,
    {
      containersDir: join(config.runDir, 'containers'),
      streamLimitBytes: STREAM_LIMIT_BYTES,
      startTimeoutMs: START_TIMEOUT_MS,
      spawnerPath: config.spawnerPath,
    },
    // Asked on each CreateContainer, long after `sandbox` below exists.
    (): OciMount[] => sandbox.containerMounts(),
  );
  const sandbox = new SandboxService(
    containers,
    mounter,
    host,
    { sandboxDir: join(config.runDir, 'sandbox'), hostnameFile: '/proc/sys/kernel/hostname', resolvConf: '/etc/resolv.conf' },
    version,
    log,
  );

  const server = new Server();
  server.addService(HealthService, healthHandlers({ version, instance: randomUUID() }, log));
  const files = new ContainerFiles(containers, new FileHandles({ maxOpen: MAX_OPEN_FILE_TRANSFERS, idleMs: FILE_TRANSFER_IDLE_MS }));
  server.addService(
    AgentServiceService,
    agentServiceHandlers(sandbox, containers, new ProcessIoService(processes), new NetworkService(host), new GuestService(host), files, log),
  );

  const transport = createTransport(config, log, (error) => {
    log.error('transport failed, exiting', { error });
    process.exit(1);
  });
  await transport.listen(server);
  // The host picks the transport; with a vsock device the agent answers on both.
  const vsock = config.listen.kind === 'virtio-serial' && (await vsockUsable()) ? new VsockListener(host, transport.serverSocket, log) : undefined;
  vsock?.start();
  // Boot-time accounting for tools/bench/boot: how long the guest took to get here, and how much of it was node.
  log.info(AGENT_SERVING_MESSAGE, {
    version,
    transport: transport.description,
    vsock: vsock !== undefined,
    runDir: config.runDir,
    guestUptimeMs: Math.round(uptime() * 1000),
    agentStartMs: Math.round(process.uptime() * 1000),
  });

  const shutdown = (signal: NodeJS.Signals): void => {
    log.info('shutting down', { signal });
    server.forceShutdown();
    vsock?.stop();
    void transport.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  createJsonLogger().error('guest agent failed to start', { error });
  process.exit(1);
});

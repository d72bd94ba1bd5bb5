import type { AgentServiceServer, Empty } from '@moat/proto';
import type { ContainerService } from '../container/container.service';
import type { Logger } from '../log/logger';
import type { ProcessIoService } from '../process/process-io.service';
import type { NetworkService } from '../network/network.service';
import type { SandboxService } from '../sandbox/sandbox.service';
import { unary } from './unary-handler';

const EMPTY: Empty = {};

export function agentServiceHandlers(
  sandbox: SandboxService,
  containers: ContainerService,
  io: ProcessIoService,
  network: NetworkService,
  log: Logger,
): AgentServiceServer {
  return {
    createSandbox: unary('CreateSandbox', log, async (request) => {
      await sandbox.create(request);
      return EMPTY;
    }),
    destroySandbox: unary('DestroySandbox', log, async () => {
      await sandbox.destroy();
      return EMPTY;
    }),
    getGuestDetails: unary('GetGuestDetails', log, () => sandbox.details()),
    createContainer: unary('CreateContainer', log, async (request) => {
      await containers.create(request);
      return EMPTY;
    }),
    startContainer: unary('StartContainer', log, async (request) => {
      await containers.start(request.containerId);
      return EMPTY;
    }),
    removeContainer: unary('RemoveContainer', log, async (request) => {
      await containers.remove(request.containerId, request.timeoutSeconds);
      return EMPTY;
    }),
    execProcess: unary('ExecProcess', log, async (request) => {
      await containers.exec(request);
      return EMPTY;
    }),
    signalProcess: unary('SignalProcess', log, async (request) => {
      await containers.signal(request);
      return EMPTY;
    }),
    waitProcess: unary('WaitProcess', log, (request) => io.wait(request.containerId, request.execId)),
    writeStdin: unary('WriteStdin', log, async (request) => ({
      len: await io.writeStdin(request.containerId, request.execId, request.data),
    })),
    closeStdin: unary('CloseStdin', log, (request) => {
      io.closeStdin(request.containerId, request.execId);
      return EMPTY;
    }),
    readStdout: unary('ReadStdout', log, async (request) => ({
      data: await io.read(request.containerId, request.execId, 'stdout', request.len),
    })),
    readStderr: unary('ReadStderr', log, async (request) => ({
      data: await io.read(request.containerId, request.execId, 'stderr', request.len),
    })),
    updateInterface: unary('UpdateInterface', log, (request) => network.updateInterface(request.interface)),
    updateRoutes: unary('UpdateRoutes', log, async (request) => ({ routes: await network.updateRoutes(request.routes?.routes ?? []) })),
    listInterfaces: unary('ListInterfaces', log, async () => ({ interfaces: await network.listInterfaces() })),
    listRoutes: unary('ListRoutes', log, async () => ({ routes: await network.listRoutes() })),
    addArpNeighbors: unary('AddARPNeighbors', log, async (request) => {
      await network.addArpNeighbors(request.neighbors);
      return EMPTY;
    }),
  };
}

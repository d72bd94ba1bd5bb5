import type { AgentServiceServer, Empty } from '@moat/proto';
import type { ContainerService } from '../container/container.service';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import type { ContainerFiles } from '../files/container-files';
import type { Logger } from '../log/logger';
import type { ProcessIoService } from '../process/process-io.service';
import type { NetworkService } from '../network/network.service';
import type { GuestService } from '../sandbox/guest.service';
import type { SandboxService } from '../sandbox/sandbox.service';
import { longPoll, unary } from './unary-handler';

const EMPTY: Empty = {};

export function agentServiceHandlers(
  sandbox: SandboxService,
  containers: ContainerService,
  io: ProcessIoService,
  network: NetworkService,
  guest: GuestService,
  files: ContainerFiles,
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
      await files.forgetContainer(request.containerId);
      await containers.remove(request.containerId, request.timeoutSeconds);
      return EMPTY;
    }),
    execProcess: unary('ExecProcess', log, async (request) => {
      await containers.exec(request);
      return EMPTY;
    }),
    execSync: longPoll('ExecSync', log, async (request, signal) => {
      const exec = request.exec;
      if (!exec) throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, 'ExecSync needs exec');
      await containers.exec(exec);
      return io.runToEnd(exec.containerId, exec.execId, Buffer.from(request.stdin), request.inlineBytes, signal);
    }),
    signalProcess: unary('SignalProcess', log, async (request) => {
      await containers.signal(request);
      return EMPTY;
    }),
    waitProcess: longPoll('WaitProcess', log, (request, signal) => io.wait(request.containerId, request.execId, signal)),
    writeStdin: unary('WriteStdin', log, async (request) => ({
      len: await io.writeStdin(request.containerId, request.execId, request.data),
    })),
    closeStdin: unary('CloseStdin', log, (request) => {
      io.closeStdin(request.containerId, request.execId);
      return EMPTY;
    }),
    readStdout: longPoll('ReadStdout', log, async (request, signal) => ({
      data: await io.read(request.containerId, request.execId, 'stdout', request.len, signal),
    })),
    readStderr: longPoll('ReadStderr', log, async (request, signal) => ({
      data: await io.read(request.containerId, request.execId, 'stderr', request.len, signal),
    })),
    updateInterface: unary('UpdateInterface', log, (request) => network.updateInterface(request.interface)),
    updateRoutes: unary('UpdateRoutes', log, async (request) => ({ routes: await network.updateRoutes(request.routes?.routes ?? []) })),
    listInterfaces: unary('ListInterfaces', log, async () => ({ interfaces: await network.listInterfaces() })),
    listRoutes: unary('ListRoutes', log, async () => ({ routes: await network.listRoutes() })),
    addArpNeighbors: unary('AddARPNeighbors', log, async (request) => {
      await network.addArpNeighbors(request.neighbors);
      return EMPTY;
    }),
    ttyWinResize: unary('TtyWinResize', log, (request) => {
      containers.resize(request.containerId, request.execId, request.window);
      return EMPTY;
    }),
    updateContainer: unary('UpdateContainer', log, async (request) => {
      await containers.update(request.containerId, request.resources);
      return EMPTY;
    }),
    statsContainer: unary('StatsContainer', log, (request) => containers.stats(request.containerId)),
    pauseContainer: unary('PauseContainer', log, async (request) => {
      await containers.pause(request.containerId);
      return EMPTY;
    }),
    resumeContainer: unary('ResumeContainer', log, async (request) => {
      await containers.resume(request.containerId);
      return EMPTY;
    }),
    setGuestDateTime: unary('SetGuestDateTime', log, async (request) => {
      await guest.setDateTime(request);
      return EMPTY;
    }),
    copyFile: unary('CopyFile', log, async (request) => {
      await guest.copyFile(request);
      return EMPTY;
    }),
    statFile: unary('StatFile', log, (request) => files.stat(request)),
    listFiles: unary('ListFiles', log, (request) => files.list(request)),
    openRead: unary('OpenRead', log, (request) => files.openRead(request)),
    readFile: longPoll('ReadFile', log, async (request, signal) => ({ data: await files.read(request.handle, request.len, signal) })),
    openWrite: unary('OpenWrite', log, async (request) => ({ handle: await files.openWrite(request) })),
    writeFile: unary('WriteFile', log, async (request) => {
      await files.write(request.handle, request.data);
      return EMPTY;
    }),
    commitFile: unary('CommitFile', log, (request) => files.commit(request.handle)),
    closeFile: unary('CloseFile', log, async (request) => {
      await files.close(request.handle);
      return EMPTY;
    }),
    getOomEvent: longPoll('GetOOMEvent', log, async (_request, signal) => ({ containerId: await containers.nextOomEvent(signal) })),
  };
}

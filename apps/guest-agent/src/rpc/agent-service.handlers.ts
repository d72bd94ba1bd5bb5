import type { AgentServiceServer } from '@moat/proto';
import type { ContainerService } from '../container/container.service';
import { AgentError, AgentErrorCode } from '../errors/agent.error';
import type { ContainerFiles } from '../files/container-files';
import type { Logger } from '../log/logger';
import type { ProcessIoService } from '../process/process-io.service';
import type { NetworkService } from '../network/network.service';
import type { GuestService } from '../sandbox/guest.service';
import type { SandboxService } from '../sandbox/sandbox.service';
import { longPoll, unary, unaryDone } from './unary-handler';

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
    createSandbox: unaryDone('CreateSandbox', log, (request) => sandbox.create(request)),
    destroySandbox: unaryDone('DestroySandbox', log, () => sandbox.destroy()),
    updateHostname: unaryDone('UpdateHostname', log, (request) => sandbox.rename(request.hostname)),
    getGuestDetails: unary('GetGuestDetails', log, () => sandbox.details()),
    createContainer: unaryDone('CreateContainer', log, (request) => containers.create(request)),
    startContainer: unaryDone('StartContainer', log, (request) => containers.start(request.containerId)),
    removeContainer: unaryDone('RemoveContainer', log, async (request) => {
      await files.forgetContainer(request.containerId);
      await containers.remove(request.containerId, request.timeoutSeconds);
    }),
    execProcess: unaryDone('ExecProcess', log, (request) => containers.exec(request)),
    execSync: longPoll('ExecSync', log, async (request, signal) => {
      const exec = request.exec;
      if (!exec) throw new AgentError(AgentErrorCode.INVALID_ARGUMENT, 'ExecSync needs exec');
      await containers.exec(exec);
      return io.runToEnd(exec.containerId, exec.execId, Buffer.from(request.stdin), request.inlineBytes, signal);
    }),
    signalProcess: unaryDone('SignalProcess', log, (request) => containers.signal(request)),
    waitProcess: longPoll('WaitProcess', log, (request, signal) => io.wait(request.containerId, request.execId, signal)),
    writeStdin: unary('WriteStdin', log, async (request) => ({
      len: await io.writeStdin(request.containerId, request.execId, request.data),
    })),
    closeStdin: unaryDone('CloseStdin', log, (request) => io.closeStdin(request.containerId, request.execId)),
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
    addArpNeighbors: unaryDone('AddARPNeighbors', log, (request) => network.addArpNeighbors(request.neighbors)),
    ttyWinResize: unaryDone('TtyWinResize', log, (request) => containers.resize(request.containerId, request.execId, request.window)),
    updateContainer: unaryDone('UpdateContainer', log, (request) => containers.update(request.containerId, request.resources)),
    statsContainer: unary('StatsContainer', log, (request) => containers.stats(request.containerId)),
    listProcesses: unary('ListProcesses', log, async (request) => ({ pids: await containers.listProcesses(request.containerId) })),
    pauseContainer: unaryDone('PauseContainer', log, (request) => containers.pause(request.containerId)),
    resumeContainer: unaryDone('ResumeContainer', log, (request) => containers.resume(request.containerId)),
    setGuestDateTime: unaryDone('SetGuestDateTime', log, (request) => guest.setDateTime(request)),
    copyFile: unaryDone('CopyFile', log, (request) => guest.copyFile(request)),
    statFile: unary('StatFile', log, (request) => files.stat(request)),
    listFiles: unary('ListFiles', log, (request) => files.list(request)),
    openRead: unary('OpenRead', log, (request) => files.openRead(request)),
    readFile: longPoll('ReadFile', log, async (request, signal) => ({ data: await files.read(request.handle, request.len, signal) })),
    openWrite: unary('OpenWrite', log, async (request) => ({ handle: await files.openWrite(request) })),
    writeFile: unaryDone('WriteFile', log, (request) => files.write(request.handle, request.data)),
    commitFile: unary('CommitFile', log, (request) => files.commit(request.handle)),
    closeFile: unaryDone('CloseFile', log, (request) => files.close(request.handle)),
    getOomEvent: longPoll('GetOOMEvent', log, async (_request, signal) => ({ containerId: await containers.nextOomEvent(signal) })),
  };
}

import type { handleUnaryCall } from '@grpc/grpc-js';
import type { AgentServiceServer, Empty, GetOOMEventRequest, OOMEvent } from '@moat/proto';
import type { ContainerService } from '../container/container.service';
import type { Logger } from '../log/logger';
import type { ProcessIoService } from '../process/process-io.service';
import type { GuestService } from '../sandbox/guest.service';
import type { SandboxService } from '../sandbox/sandbox.service';
import { toServiceError } from './grpc-status';
import { unary } from './unary-handler';

const EMPTY: Empty = {};

export function agentServiceHandlers(
  sandbox: SandboxService,
  containers: ContainerService,
  io: ProcessIoService,
  guest: GuestService,
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
    getOomEvent: oomEventHandler(containers, log),
  };
}

/** A long-poll that ends when the host cancels the call (or its deadline passes). */
function oomEventHandler(containers: ContainerService, log: Logger): handleUnaryCall<GetOOMEventRequest, OOMEvent> {
  return (call, callback) => {
    const cancelled = new AbortController();
    call.on('cancelled', () => cancelled.abort());
    containers.nextOomEvent(cancelled.signal).then(
      (containerId) => callback(null, { containerId }),
      (error: unknown) => {
        if (!cancelled.signal.aborted) log.error('rpc failed', { method: 'GetOOMEvent', error });
        callback(toServiceError(error));
      },
    );
  };
}

import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Server, ServerCredentials, type handleUnaryCall } from '@grpc/grpc-js';
import { NodeTasksService, type NodeTasksServer } from '@moat/proto/node-tasks';
import { canConnect } from '@moat/proto/unix-socket';
import type { Logger } from 'pino';
import type { ContainerdTasks } from './containerd-tasks';
import { TaskError, taskError } from './task.errors';

const EMPTY = {};

/** A unary handler over an async function: its TaskError (any error, mapped) becomes the status. */
function unary<Req, Res>(log: Logger, name: string, fn: (request: Req) => Promise<Res> | Res): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (response) => callback(null, response),
        (error: unknown) => {
          const failure = taskError(error);
          log.debug({ call: name, code: failure.code, error: failure.message }, 'node task call failed');
          callback({ code: failure.grpcStatus, details: failure.message });
        },
      );
  };
}

/** The `NodeTasks` handlers over containerd's tasks on this node. */
export function nodeTasksHandlers(tasks: ContainerdTasks, log: Logger): NodeTasksServer {
  return {
    create: unary(log, 'Create', (req) => tasks.create(req)),
    start: unary(log, 'Start', (req) => tasks.start(req)),
    exec: unary(log, 'Exec', (req) => {
      tasks.exec(req);
      return EMPTY;
    }),
    wait: unary(log, 'Wait', (req) => tasks.wait(req)),
    state: unary(log, 'State', (req) => tasks.state(req)),
    kill: unary(log, 'Kill', async (req) => {
      if (!req.process) throw new TaskError('INVALID_ARGUMENT', 'the call names no process');
      await tasks.kill(req.process, req.signal, req.all);
      return EMPTY;
    }),
    delete: unary(log, 'Delete', (req) => tasks.delete(req)),
    resizePty: unary(log, 'ResizePty', async (req) => {
      if (!req.process) throw new TaskError('INVALID_ARGUMENT', 'the call names no process');
      await tasks.resize(req.process, req.width, req.height);
      return EMPTY;
    }),
    closeIo: unary(log, 'CloseIO', (req) => {
      tasks.closeStdin(req);
      return EMPTY;
    }),
    pids: unary(log, 'Pids', async (req) => ({ pids: await tasks.pids(req) })),
    pause: unary(log, 'Pause', async (req) => {
      await tasks.setPaused(req, true);
      return EMPTY;
    }),
    resume: unary(log, 'Resume', async (req) => {
      await tasks.setPaused(req, false);
      return EMPTY;
    }),
    stats: unary(log, 'Stats', (req) => tasks.stats(req)),
    update: unary(log, 'Update', async (req) => {
      await tasks.update(req);
      return EMPTY;
    }),
  };
}

/**
 * Serves `NodeTasks` on a unix socket only root can open: whoever can create a task there runs a
 * VM on this node as the node agent does.
 */
export async function serveNodeTasks(tasks: ContainerdTasks, socketPath: string, log: Logger): Promise<{ close(): Promise<void> }> {
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
  // Two agents with one MOAT_RUN_DIR: the first keeps the socket (taking it over would leave its
  // shims talking to the wrong agent, and this one's exit would remove it).
  if (await canConnect(socketPath)) {
    log.warn({ socket: socketPath }, 'another node agent serves containerd tasks on this socket (they share MOAT_RUN_DIR): this one serves none');
    return { close: () => Promise.resolve() };
  }
  // A socket nobody answers on is a dead agent's.
  await rm(socketPath, { force: true });
  const server = new Server();
  server.addService(NodeTasksService, nodeTasksHandlers(tasks, log));
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())));
  await chmod(socketPath, 0o600);
  log.info({ socket: socketPath }, 'serving containerd tasks');
  return {
    close: async () => {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await rm(socketPath, { force: true });
    },
  };
}

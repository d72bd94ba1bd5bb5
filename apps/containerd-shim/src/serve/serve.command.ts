import { chmod, rm } from 'node:fs/promises';
import { nodeTasksSocket } from '@moat/proto/node-tasks';
import { TtrpcServer } from '@moat/ttrpc';
import type { ShimConfig } from '../config/shim.config';
import { TtrpcEventPublisher } from '../events/ttrpc.publisher';
import type { Logger } from '../log/logger';
import { MountAdapter } from '../mount/mount.adapter';
import { GrpcNodeTasks } from '../node-tasks/node-tasks.grpc';
import { TaskService } from '../task/task.service';
import { registerTaskService } from '../task/task.ttrpc';

/** How long a shim that is going away waits for its last events to reach containerd. */
export const EVENTS_DRAIN_TIMEOUT_MS = 5_000;

/**
 * The daemon containerd talks to: serves `containerd.task.v2.Task` on `-socket` (only root may
 * connect) until Shutdown finds no task left, the node agent loses the last one, or SIGTERM or
 * SIGINT; then lets queued events reach containerd, stops serving and removes the socket.
 */
export async function serve(config: ShimConfig, log: Logger): Promise<void> {
  const socket = config.flags.socket;
  const nodeTasksPath = nodeTasksSocket(config.runDir);
  const nodeTasks = new GrpcNodeTasks(nodeTasksPath);
  const events = new TtrpcEventPublisher({ address: config.ttrpcAddress, namespace: config.flags.namespace, log });
  const server = new TtrpcServer();

  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  let stopping = false;
  const stop = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('shim shutting down', { reason });
    // After this turn, so that the call that asked (Shutdown) is answered first.
    setImmediate(() => {
      void (async () => {
        try {
          service.close();
          await events.close(EVENTS_DRAIN_TIMEOUT_MS);
          await server.close();
          await rm(socket, { force: true });
          nodeTasks.close();
        } catch (error) {
          log.error('shutting down failed', { error });
        } finally {
          stopped();
        }
      })();
    });
  };

  const service = new TaskService({
    namespace: config.flags.namespace,
    nodeTasks,
    events,
    mounter: new MountAdapter(),
    log,
    shimPid: process.pid,
    shutdown: () => stop('no task left'),
  });
  registerTaskService(server, service, log);
  await server.listen(socket);
  // The Task API boots and kills VMs: only root talks to it (containerd's shims chmod theirs too).
  await chmod(socket, 0o600);
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  log.info('shim serving', { socket, nodeTasks: nodeTasksPath, events: config.ttrpcAddress });
  await done;
}

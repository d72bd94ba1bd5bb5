/**
 * `@moat/proto/unix-socket`: whether a process serves a unix socket, without zod or gRPC, for
 * both ends of the containerd shim's sockets: the shim's `start` (which containerd waits for)
 * and the node agent's NodeTasks server, each telling a live server from a dead one's file.
 */
import { connect } from 'node:net';

/** How long a connect may take before the socket counts as nobody's. */
const CONNECT_TIMEOUT_MS = 1_000;

/** Whether something accepts connections on the unix socket `path`. */
export function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

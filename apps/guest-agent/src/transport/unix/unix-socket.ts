import { ServerCredentials, type Server } from '@grpc/grpc-js';
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AgentError, AgentErrorCode } from '../../errors/agent.error';

/** Binds a gRPC server to a unix socket, replacing a stale socket file left by a previous agent. */
export async function bindUnixSocket(server: Server, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await rm(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix:${path}`, ServerCredentials.createInsecure(), (error) =>
      error ? reject(new AgentError(AgentErrorCode.TRANSPORT_FAILED, `listen on ${path}`, { cause: error })) : resolve(),
    );
  });
}

import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { NodeTasksClient, NodeTasksService } from '@moat/proto/node-tasks';
import { TtrpcError } from '@moat/ttrpc';
import type { CallContext, NodeTasks } from './node-tasks';

type Service = typeof NodeTasksService;
type Method = keyof Service;
type RequestOf<M extends Method> = Parameters<Service[M]['requestSerialize']>[0];
type ResponseOf<M extends Method> = ReturnType<Service[M]['responseDeserialize']>;

/**
 * How long each call may take unless containerd's own deadline is sooner. Create boots a VM
 * (slow under TCG); Delete stops one; Wait lasts as long as the process does.
 */
export const NODE_TASKS_TIMEOUTS_MS: Readonly<Record<Method, number | undefined>> = {
  create: 300_000,
  delete: 120_000,
  wait: undefined,
  start: 30_000,
  exec: 30_000,
  state: 30_000,
  kill: 30_000,
  resizePty: 30_000,
  closeIo: 30_000,
  pids: 30_000,
  pause: 30_000,
  resume: 30_000,
  stats: 30_000,
  update: 30_000,
};

/** The error containerd gets for a failed call to the node agent: the same status code, the node agent's message. */
export function ttrpcErrorOf(error: ServiceError): TtrpcError {
  return TtrpcError.fromStatus({ code: error.code, message: error.details || error.message, details: [] });
}

/** NodeTasks over gRPC on the node agent's unix socket (`<MOAT_RUN_DIR>/node-tasks.sock`). */
export class GrpcNodeTasks implements NodeTasks {
  private readonly client: NodeTasksClient;

  constructor(socketPath: string) {
    this.client = new NodeTasksClient(`unix:${socketPath}`, credentials.createInsecure(), {
      // A node agent that restarts is back within seconds: reconnect soon, and never retry a call behind our back.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1_000,
      'grpc.enable_retries': 0,
    });
  }

  create = (request: RequestOf<'create'>, call?: CallContext) => this.unary('create', request, call);
  start = (process: RequestOf<'start'>, call?: CallContext) => this.unary('start', process, call);
  exec = async (request: RequestOf<'exec'>, call?: CallContext) => void (await this.unary('exec', request, call));
  wait = (process: RequestOf<'wait'>, call?: CallContext) => this.unary('wait', process, call);
  state = (process: RequestOf<'state'>, call?: CallContext) => this.unary('state', process, call);
  kill = async (request: RequestOf<'kill'>, call?: CallContext) => void (await this.unary('kill', request, call));
  delete = (process: RequestOf<'delete'>, call?: CallContext) => this.unary('delete', process, call);
  resizePty = async (request: RequestOf<'resizePty'>, call?: CallContext) => void (await this.unary('resizePty', request, call));
  closeIO = async (process: RequestOf<'closeIo'>, call?: CallContext) => void (await this.unary('closeIo', process, call));
  pids = (task: RequestOf<'pids'>, call?: CallContext) => this.unary('pids', task, call);
  pause = async (task: RequestOf<'pause'>, call?: CallContext) => void (await this.unary('pause', task, call));
  resume = async (task: RequestOf<'resume'>, call?: CallContext) => void (await this.unary('resume', task, call));
  stats = (task: RequestOf<'stats'>, call?: CallContext) => this.unary('stats', task, call);
  update = async (request: RequestOf<'update'>, call?: CallContext) => void (await this.unary('update', request, call));

  close(): void {
    this.client.close();
  }

  private unary<M extends Method>(method: M, request: RequestOf<M>, { signal, deadline }: CallContext = {}): Promise<ResponseOf<M>> {
    // TypeScript cannot relate NodeTasksService[M]'s members to M's request and response types.
    const definition = NodeTasksService[method] as unknown as {
      path: string;
      requestSerialize: (value: RequestOf<M>) => Buffer;
      responseDeserialize: (bytes: Buffer) => ResponseOf<M>;
    };
    const timeoutMs = NODE_TASKS_TIMEOUTS_MS[method];
    const deadlines = [deadline, timeoutMs === undefined ? undefined : Date.now() + timeoutMs].filter((d): d is number => d !== undefined);
    return new Promise<ResponseOf<M>>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const onAbort = () => call.cancel();
      const call = this.client.makeUnaryRequest(
        definition.path,
        definition.requestSerialize,
        definition.responseDeserialize,
        request,
        new Metadata(),
        deadlines.length > 0 ? { deadline: Math.min(...deadlines) } : {},
        (error, response) => {
          signal?.removeEventListener('abort', onAbort);
          if (signal?.aborted) reject(abortError(signal));
          else if (error) reject(ttrpcErrorOf(error));
          else if (response === undefined) reject(new TtrpcError('INTERNAL', `${definition.path}: empty reply from the node agent`));
          else resolve(response);
        },
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** Why a call was given up: the caller's own reason when it is a status (DEADLINE_EXCEEDED, CANCELLED). */
function abortError(signal: AbortSignal): TtrpcError {
  return signal.reason instanceof TtrpcError ? signal.reason : new TtrpcError('CANCELLED', 'context canceled');
}

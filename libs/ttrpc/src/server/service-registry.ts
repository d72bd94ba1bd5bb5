import { TtrpcError } from '../errors/ttrpc.error';
import type { RequestContext } from './request-context';

/** A unary method: the request's payload in, the response's payload out (protobuf, encoded by the caller). */
export type UnaryMethod = (payload: Buffer, context: RequestContext) => Promise<Uint8Array>;

/** A service's methods by name, as a request names them (`Create`, not `create`). */
export type ServiceMethods = Readonly<Record<string, UnaryMethod>>;

/** The services a server answers, by full name (`containerd.task.v2.Task`). */
export class ServiceRegistry {
  private readonly services = new Map<string, ReadonlyMap<string, UnaryMethod>>();

  /** Adds a service; a name registered twice is a programming error (ttrpc-go panics). */
  register(service: string, methods: ServiceMethods): void {
    if (this.services.has(service)) throw new TtrpcError('ALREADY_EXISTS', `duplicate service ${service} registered`);
    this.services.set(service, new Map(Object.entries(methods)));
  }

  /** The handler of `service`/`method`; UNIMPLEMENTED when either is unknown, worded as ttrpc-go words it. */
  resolve(service: string, method: string): UnaryMethod {
    const methods = this.services.get(service);
    if (methods === undefined) throw new TtrpcError('UNIMPLEMENTED', `service ${service}`);
    const handler = methods.get(method);
    if (handler === undefined) throw new TtrpcError('UNIMPLEMENTED', `method ${method}`);
    return handler;
  }
}

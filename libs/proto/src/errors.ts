/**
 * `@moat/proto/errors`: the MoatError base without zod or gRPC, for code that must load fast or
 * small (`@moat/ttrpc`, which the containerd shim loads on every task start). The same name is
 * exported by `@moat/proto`.
 */
export { MoatError } from './errors/moat.error';

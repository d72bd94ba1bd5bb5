/**
 * `@moat/ttrpc`: containerd's ttrpc protocol (the version Debian 12 ships, 1.1.1), for a
 * containerd shim: a server of unary methods on a unix socket and a client that multiplexes
 * calls over one connection. Payloads are protobuf messages the caller encodes and decodes.
 */

// ---- errors ------------------------------------------------------------------------------
export { GRPC_STATUS_CODES, TtrpcError, type TtrpcErrorCode } from './errors/ttrpc.error';

// ---- server ------------------------------------------------------------------------------
export { TtrpcServer } from './server/ttrpc.server';
export type { RequestContext } from './server/request-context';
export type { ServiceMethods, UnaryMethod } from './server/service-registry';

// ---- client ------------------------------------------------------------------------------
export { TtrpcClient, type CallOptions } from './client/ttrpc.client';

// ---- wire --------------------------------------------------------------------------------
export type { Metadata } from './wire/metadata';
export { MAX_MESSAGE_LENGTH } from './wire/frame';

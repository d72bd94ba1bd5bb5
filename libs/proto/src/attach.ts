/**
 * `@moat/proto/attach`: the interactive session protocol for attach clients, without zod or
 * gRPC, so a browser bundle can take its values. The same names are exported by `@moat/proto`.
 */
export type { AckReply, ErrorInfo } from './common/ack-reply';
export {
  ATTACH_NAMESPACE,
  type AttachClientEvents,
  type AttachExit,
  type AttachServerEvents,
  type AttachStart,
  type OutputStream,
  type WindowSize,
} from './attach/attach.protocol';
export { ATTACH_REPLY_TIMEOUT_MS, MAX_SESSION_CHUNK_BYTES } from './limits/session.limits';

/**
 * @moat/sdk: a typed client of the Moat control plane. The types of every request and answer
 * are generated at build time by openapi-typescript from the control plane's OpenAPI document
 * (the Nx target `control-plane:openapi`); requests go through openapi-fetch, which checks
 * paths, parameters and bodies against those types. `Moat` adds a small hand-written layer for
 * the common work: sandboxes, exec, waiting for a state, errors as exceptions.
 */
export * from './api.types';
export type { AttachOutput } from './attach-output.queue';
export { AttachSession, type AttachOptions } from './attach.session';
export type { AttachEndpoint } from './attach.socket';
export type { AttachExit, OutputStream, WindowSize } from '@moat/proto/attach';
export { bodyOf } from './body-of';
export { Moat, type MoatOptions } from './moat.client';
export type { components, operations, paths } from './generated/api';
export { MoatApiError, MoatAttachError, MoatClientError, MoatError, type AttachClientErrorCode, type MoatClientErrorCode } from './moat.error';
export { SandboxFiles, type FileData, type WriteFileOptions } from './sandbox-files';
export { MoatSandbox, type ExecOptions, type WaitOptions } from './sandbox.handle';
export { sandboxLogs, type LogChunk, type LogsOptions } from './sandbox-logs';
export { parseEventStream, type ServerSentEvent } from './sse.parser';
export { NodesApi } from './nodes.api';
export { SandboxesApi } from './sandboxes.api';

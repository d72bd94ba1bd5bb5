/**
 * The fleet protocol: socket.io events between the control plane and node agents (namespace
 * {@link AGENTS_NAMESPACE}). Every payload crossing a process boundary is validated on receipt
 * with the zod schemas beside this file.
 */
import type { AckReply } from '../common/ack-reply';
import type { NodeHeartbeat, NodeHello } from './node.schemas';
import type { DesiredState, TenantPeersUpdate } from './sandbox-desired.schemas';
import type { ExecReplyResult, ExecRequest, SandboxPause, SandboxRef, SandboxStats } from './sandbox-ops.schemas';
import type {
  FileChunk,
  FilePathRef,
  FileReadOpen,
  FileTransferRef,
  FileWriteChunk,
  FileWriteOpen,
  SandboxFileCommit,
  SandboxFileInfo,
  SandboxFileList,
} from './sandbox-files.schemas';
import type {
  SandboxMigrateIn,
  SandboxMigrateOut,
  SandboxMigrateOutReply,
  SandboxReceive,
  SandboxReceiveReply,
  SandboxSend,
  SandboxSendReply,
} from './sandbox-move.schemas';
import type { SandboxLogsRequest, SandboxLogsWire } from './sandbox-logs.schemas';
import type { SandboxStatus } from './sandbox-status.schemas';
import type { SessionError, SessionExit, SessionInput, SessionOpen, SessionOutput, SessionRef, SessionResize, SessionSignal } from './session.schemas';

/** The namespace node agents connect on. */
export const AGENTS_NAMESPACE = '/agents';

/** Events the control plane emits to a node agent. */
export interface ControlPlaneToAgentEvents {
  'sandboxes:desired': (state: DesiredState) => void;
  /** A tenant's set of nodes changed elsewhere: its overlay's new peers (see tenantPeersUpdateSchema). */
  'tenant:peers': (update: TenantPeersUpdate) => void;
  'sandbox:exec': (req: ExecRequest, ack: (reply: AckReply<ExecReplyResult>) => void) => void;
  'sandbox:stats': (req: SandboxRef, ack: (reply: AckReply<SandboxStats>) => void) => void;
  'sandbox:pause': (req: SandboxPause, ack: (reply: AckReply<null>) => void) => void;
  'sandbox:logs': (req: SandboxLogsRequest, ack: (reply: AckReply<SandboxLogsWire>) => void) => void;
  /** To a move's target: open a port for the sandbox's saved state (see sandbox-move.schemas). */
  'sandbox:receive': (req: SandboxReceive, ack: (reply: AckReply<SandboxReceiveReply>) => void) => void;
  /** To a move's source: send the hibernated sandbox's saved state; answered once the target took it in. */
  'sandbox:send': (req: SandboxSend, ack: (reply: AckReply<SandboxSendReply>) => void) => void;
  /** To a live migration's target: open a port for the running sandbox's VM, run it once it arrived. */
  'sandbox:migrate-in': (req: SandboxMigrateIn, ack: (reply: AckReply<SandboxReceiveReply>) => void) => void;
  /** To a live migration's source: send the running sandbox's VM; answered once the target runs it. */
  'sandbox:migrate-out': (req: SandboxMigrateOut, ack: (reply: AckReply<SandboxMigrateOutReply>) => void) => void;
  'session:open': (req: SessionOpen, ack: (reply: AckReply<null>) => void) => void;
  'session:input': (req: SessionInput, ack: (reply: AckReply<null>) => void) => void;
  'session:eof': (req: SessionRef) => void;
  'session:resize': (req: SessionResize) => void;
  'session:signal': (req: SessionSignal) => void;
  'session:close': (req: SessionRef) => void;
  'file:stat': (req: FilePathRef, ack: (reply: AckReply<SandboxFileInfo>) => void) => void;
  'file:list': (req: FilePathRef, ack: (reply: AckReply<SandboxFileList>) => void) => void;
  /** Opens a file (its bytes) or a directory (a tar of its tree) for `file:read`. */
  'file:open-read': (req: FileReadOpen, ack: (reply: AckReply<SandboxFileInfo>) => void) => void;
  'file:read': (req: FileTransferRef, ack: (reply: AckReply<FileChunk>) => void) => void;
  'file:open-write': (req: FileWriteOpen, ack: (reply: AckReply<null>) => void) => void;
  'file:write': (req: FileWriteChunk, ack: (reply: AckReply<null>) => void) => void;
  /** Puts the written file in place; until then the path is untouched. */
  'file:commit': (req: FileTransferRef, ack: (reply: AckReply<SandboxFileCommit>) => void) => void;
  /** Ends a read or abandons a write. */
  'file:close': (req: FileTransferRef) => void;
}

/** Events a node agent emits to the control plane. */
export interface AgentToControlPlaneEvents {
  'node:hello': (hello: NodeHello, ack: (reply: AckReply<{ nodeId: string }>) => void) => void;
  'node:heartbeat': (hb: NodeHeartbeat) => void;
  'sandbox:status': (status: SandboxStatus) => void;
  /** Acknowledged (true) once the client has taken the chunk. */
  'session:output': (output: SessionOutput, ack: (taken: boolean) => void) => void;
  'session:exit': (exit: SessionExit) => void;
  'session:error': (error: SessionError) => void;
}

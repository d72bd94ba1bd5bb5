/**
 * The fleet protocol: socket.io events between the control plane and node agents (namespace
 * {@link AGENTS_NAMESPACE}). Every payload crossing a process boundary is validated on receipt
 * with the zod schemas beside this file.
 */
import type { AckReply } from '../common/ack-reply';
import type { NodeHeartbeat, NodeHello } from './node.schemas';
import type { DesiredState } from './sandbox-desired.schemas';
import type { ExecReplyResult, ExecRequest, SandboxPause, SandboxRef, SandboxStats } from './sandbox-ops.schemas';
import type { SandboxStatus } from './sandbox-status.schemas';
import type { SessionError, SessionExit, SessionInput, SessionOpen, SessionOutput, SessionRef, SessionResize, SessionSignal } from './session.schemas';

/** The namespace node agents connect on. */
export const AGENTS_NAMESPACE = '/agents';

/** Events the control plane emits to a node agent. */
export interface ControlPlaneToAgentEvents {
  'sandboxes:desired': (state: DesiredState) => void;
  'sandbox:exec': (req: ExecRequest, ack: (reply: AckReply<ExecReplyResult>) => void) => void;
  'sandbox:stats': (req: SandboxRef, ack: (reply: AckReply<SandboxStats>) => void) => void;
  'sandbox:pause': (req: SandboxPause, ack: (reply: AckReply<null>) => void) => void;
  'session:open': (req: SessionOpen, ack: (reply: AckReply<null>) => void) => void;
  'session:input': (req: SessionInput, ack: (reply: AckReply<null>) => void) => void;
  'session:eof': (req: SessionRef) => void;
  'session:resize': (req: SessionResize) => void;
  'session:signal': (req: SessionSignal) => void;
  'session:close': (req: SessionRef) => void;
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

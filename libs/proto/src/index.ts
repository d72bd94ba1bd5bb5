/**
 * `@moat/proto`: the contracts between Moat's processes. Everything other projects may import
 * is named here. A browser bundle takes values only from the zod- and gRPC-free entries
 * `@moat/proto/attach` and `@moat/proto/ui`, and anything else with `import type`.
 */

// ---- errors -------------------------------------------------------------------------------
export { MoatError } from './errors/moat.error';

// ---- limits and timeouts agreed between processes ----------------------------------------
export {
  AGENT_CALL_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_HEARTBEAT_TTL_MS,
  MAX_CONTAINERD_NAME_LENGTH,
  MAX_CONTAINERD_SANDBOXES,
  MAX_CPU_OVERCOMMIT,
  MAX_FLEET_MESSAGE_BYTES,
  MAX_NODE_NAME_LENGTH,
  MAX_SANDBOX_OVERHEAD_MIB,
  MAX_TENANT_PEERS,
  MAX_VNI,
  MOVE_ARRIVAL_GRACE_MS,
  MOVE_SETTLE_AFTER_MS,
  MOVE_CONNECT_TIMEOUT_MS,
  MOVE_KEY_BYTES,
  MOVE_TRANSFER_TIMEOUT_MS,
  NODE_REQUEST_TIMEOUT_MS,
} from './limits/fleet.limits';
export {
  API_MAX_MEMORY_MIB,
  API_MAX_VCPUS,
  API_MIN_MEMORY_MIB,
  MAX_FORK_CLONES,
  MAX_IDLE_TIMEOUT_SECONDS,
  MAX_IMAGE_REFERENCE_LENGTH,
  MAX_PUBLISHED_PORTS,
  MAX_VCPUS,
  MIN_IDLE_TIMEOUT_SECONDS,
  MIN_MEMORY_MIB,
} from './limits/sandbox.limits';
export {
  AGENT_KILL_GRACE_MS,
  AGENT_MAX_CHUNK_BYTES,
  EXEC_DEFAULT_REPLY_WAIT_MS,
  EXEC_DEFAULT_TIMEOUT_MS,
  EXEC_REPLY_MARGIN_MS,
  MAX_ARGV_ENTRIES,
  MAX_COMMAND_ARG_LENGTH,
  MAX_CWD_LENGTH,
  MAX_EXEC_TIMEOUT_MS,
  MAX_EXIT_STATUS,
  MAX_LISTED_PROCESSES,
  MAX_SIGNAL,
  MAX_WINDOW_DIMENSION,
} from './limits/process.limits';
export {
  FILE_CHUNK_BYTES,
  FILE_TRANSFER_IDLE_MS,
  FILE_TYPES,
  MAX_FILE_LIST_ENTRIES,
  MAX_FILE_OWNER_ID,
  MAX_FILE_NAME_LENGTH,
  MAX_FILE_PATH_LENGTH,
  MAX_OPEN_FILE_TRANSFERS,
  type FileType,
} from './limits/files.limits';
export { MAX_LOGS_PAGE_BYTES, MAX_LOGS_TAIL_LINES, MAX_LOGS_WAIT_MS } from './limits/logs.limits';
export { ATTACH_REPLY_TIMEOUT_MS, MAX_SESSION_CHUNK_BYTES, SESSION_OUTPUT_ACK_TIMEOUT_MS, SESSION_REQUEST_TIMEOUT_MS } from './limits/session.limits';

// ---- replies to acknowledged socket.io events ---------------------------------------------
export type { AckReply, ErrorInfo } from './common/ack-reply';
export { ackReplySchema } from './fleet/ack-reply.schema';

// ---- fleet: control plane ↔ node agents (/agents) -----------------------------------------
export { AGENTS_NAMESPACE, type AgentToControlPlaneEvents, type ControlPlaneToAgentEvents } from './fleet/fleet.events';
export {
  CONTAINERD_SANDBOX_STATES,
  isContainerdSandboxState,
  type ContainerdSandboxState,
  NODE_STATES,
  agentAuthSchema,
  containerdSandboxSchema,
  containerdTaskRefSchema,
  DRAIN_MODES,
  nodeHeartbeatSchema,
  nodeHelloSchema,
  type Accelerator,
  type Capacity,
  type ContainerdSandbox,
  type ContainerdTaskRef,
  type DrainMode,
  type NodeHeartbeat,
  type NodeHello,
  type NodeState,
  type WarmPoolSize,
} from './fleet/node.schemas';
export { NODE_CREDENTIAL_PREFIX, NODE_JOIN_PATH, nodeJoinResponseSchema, type NodeJoinRequest } from './fleet/node-join';
export {
  NETWORK_MODELS,
  ROOTFS_KINDS,
  desiredStateSchema,
  tenantNetworkPlanSchema,
  tenantPeersUpdateSchema,
  type DesiredSandbox,
  type DesiredState,
  type NetworkModel,
  type TenantNetworkPlan,
  type TenantPeersUpdate,
  type PortSpec,
  type RootfsKind,
} from './fleet/sandbox-desired.schemas';
export {
  SANDBOX_STATES,
  sandboxStatusSchema,
  type AgentTransportName,
  type PhaseTiming,
  type SandboxProgress,
  type SandboxState,
  type SandboxStatus,
} from './fleet/sandbox-status.schemas';
export { MAX_DNS_OPTIONS, MAX_DNS_SEARCH, MAX_DNS_SERVERS, MAX_EGRESS_CIDRS } from './limits/fences.limits';
export { isDnsName, isIpv4, isIpv4Cidr, isResolverOption } from './common/network-grammar';
export { cidrSize, formatIpv4, formatIpv4Cidr, parseIpv4, parseIpv4Cidr, type Ipv4Cidr } from './common/ipv4';
export {
  dnsConfigSchema,
  egressPolicySchema,
  type DnsConfig,
  type EgressPolicy,
  type SandboxIsolation,
} from './fleet/sandbox-fences';
export {
  execReplyResultSchema,
  execRequestSchema,
  execResultSchema,
  sandboxPauseSchema,
  sandboxRefSchema,
  sandboxStatsSchema,
  type ExecReplyResult,
  type ExecRequest,
  type ExecResult,
  type SandboxStats,
} from './fleet/sandbox-ops.schemas';
export {
  moveKeySchema,
  sandboxMigrateInSchema,
  sandboxMigrateOutReplySchema,
  sandboxMigrateOutSchema,
  sandboxReceiveReplySchema,
  sandboxReceiveSchema,
  sandboxSendReplySchema,
  sandboxSendSchema,
  type SandboxMigrateIn,
  type SandboxMigrateOut,
  type SandboxMigrateOutReply,
  type SandboxReceive,
  type SandboxReceiveReply,
  type SandboxSend,
  type SandboxSendReply,
} from './fleet/sandbox-move.schemas';
export {
  containerPathSchema,
  fileChunkSchema,
  fileCommitSchema,
  fileInfoSchema,
  fileListSchema,
  filePathRefSchema,
  fileReadOpenSchema,
  fileTransferRefSchema,
  fileWriteChunkSchema,
  fileWriteOpenSchema,
  type FileChunk,
  type FilePathRef,
  type FileReadOpen,
  type FileTransferRef,
  type FileWriteChunk,
  type FileWriteOpen,
  type SandboxFileCommit,
  type SandboxFileInfo,
  type SandboxFileList,
} from './fleet/sandbox-files.schemas';
export {
  packLogsPage,
  sandboxLogsRequestSchema,
  sandboxLogsWireSchema,
  unpackLogsPage,
  type LogEntryDto,
  type SandboxLogsPage,
  type SandboxLogsWire,
  type SandboxLogsRequest,
} from './fleet/sandbox-logs.schemas';
export {
  attachStartSchema,
  sessionErrorSchema,
  sessionExitSchema,
  sessionInputSchema,
  sessionOpenSchema,
  sessionOutputSchema,
  sessionRefSchema,
  sessionResizeSchema,
  sessionSignalSchema,
  windowSizeSchema,
  type SessionExit,
  type SessionOpen,
  type SessionOutput,
} from './fleet/session.schemas';

// ---- attach clients ↔ control plane (/attach): every name of `@moat/proto/attach` --------
export * from './attach';

// ---- control plane → dashboards (/ui); also `@moat/proto/ui` -------------------------------
export { UI_NAMESPACE, type UiEvents, type UiPayloads, type UiTemplateUpdate } from './ui/ui.events';

// ---- the guest agent's gRPC API (agent.proto, generated by ts-proto) ----------------------
export { AGENT_JITLESS_PARAM, AGENT_PORT_NAME, AGENT_SERVING_MESSAGE, AGENT_VSOCK_PORT, INIT_EXEC_ID, SERIAL_SYNC, serialSyncAnswer, serialSyncRequest } from './agent';
export {
  AgentServiceClient,
  AgentServiceService,
  ARPNeighbor,
  CheckRequest,
  CopyFileRequest,
  CreateContainerRequest,
  CreateSandboxRequest,
  Empty,
  ExecProcessRequest,
  ExecSyncResponse,
  FileInfo,
  FileListResponse,
  GuestDetailsResponse,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  HealthService,
  Interface,
  IPAddress,
  LinuxResources,
  Process,
  protobufPackage,
  ReadStreamResponse,
  Route,
  SetGuestDateTimeRequest,
  SignalProcessRequest,
  StatsContainerResponse,
  ProcessList,
  Storage,
  WaitProcessResponse,
  WriteStreamResponse,
  type AgentServiceServer,
  type CommitFileResponse,
  type FilePathRequest,
  type HealthServer,
  type OpenReadResponse,
  type OpenWriteRequest,
} from './generated/agent';

/**
 * Bounds on a process run in a sandbox (exec or an interactive session), shared by the API,
 * the fleet protocol, the host's guest agent client and the guest agent.
 */

/** Most arguments in a command (REST exec and sandbox bodies, the fleet protocol). */
export const MAX_ARGV_ENTRIES = 4096;
/** Longest argument of a sandbox's command (its container's init): the sandbox body and the desired state. */
export const MAX_COMMAND_ARG_LENGTH = 65_536;
/** Longest working directory a process may ask for (REST exec, the fleet protocol). */
export const MAX_CWD_LENGTH = 4096;
/** Highest signal number; the fleet protocol, the attach gateway and runtime-core refuse others. */
export const MAX_SIGNAL = 64;
/** Exit statuses are 0–255 (128 + signal for a signalled process); runtime-core refuses others from the guest. */
export const MAX_EXIT_STATUS = 255;
/** Most processes the guest agent lists of a container (ListProcesses); runtime-core refuses more. */
export const MAX_LISTED_PROCESSES = 4096;
/** Most rows, and most columns, of a terminal: the fleet protocol, runtime-core and the guest agent refuse more. */
export const MAX_WINDOW_DIMENSION = 10_000;

/**
 * Longest timeout an exec may ask for, in milliseconds: the REST exec body (control plane) and
 * the fleet protocol's exec request (node agent).
 */
export const MAX_EXEC_TIMEOUT_MS = 3_600_000;
/**
 * How long runtime-core waits for a timed-out exec to end after the guest's SIGKILL (its
 * `killGraceMs` default) before giving up on the guest; a node may take twice this to answer.
 */
export const AGENT_KILL_GRACE_MS = 5_000;
/**
 * The timeout the node agent gives an exec that asks for none. With the node's kill grace it
 * still fits in {@link EXEC_DEFAULT_REPLY_WAIT_MS}, so the process (and a guest that stalls) is
 * given up while the control plane still waits for the answer.
 */
export const EXEC_DEFAULT_TIMEOUT_MS = 50_000;
/** How long the control plane waits for a node's exec answer when the request set no timeout (60 s). */
export const EXEC_DEFAULT_REPLY_WAIT_MS = EXEC_DEFAULT_TIMEOUT_MS + 2 * AGENT_KILL_GRACE_MS;
/**
 * What the control plane waits beyond an exec's own timeout for the node's answer: the node
 * may take twice {@link AGENT_KILL_GRACE_MS} to give up on a guest, and the relay some more.
 */
export const EXEC_REPLY_MARGIN_MS = 15_000;

/**
 * Most bytes one guest agent message carries as process or file data: one ReadStdout/ReadStderr
 * answer (the guest caps it), one WriteStdin or CopyFile request (runtime-core sends no more,
 * the guest refuses bigger CopyFile chunks). Well under gRPC's 4 MiB default message limit.
 */
export const AGENT_MAX_CHUNK_BYTES = 1024 * 1024;

/** Between the control plane and node agents: names, liveness and how long requests may take. */

/** Longest node name (a DNS host name): the node join request, the hello, the node agent's MOAT_NODE_NAME. */
export const MAX_NODE_NAME_LENGTH = 253;

/** The largest CPU oversubscription factor a hello (or MOAT_NODE_CPU_OVERCOMMIT) may carry. */
export const MAX_CPU_OVERCOMMIT = 1000;
/** The largest per-sandbox overhead a hello may report, MiB. */
export const MAX_SANDBOX_OVERHEAD_MIB = 65_536;
/** Most warm-pool shapes a hello may list, and most VMs of one shape. */
export const MAX_WARM_POOL_SHAPES = 16;
export const MAX_WARM_POOL_VMS = 1024;
/** Most sandboxes started through containerd a heartbeat may list (a node with more lists its first this many). */
export const MAX_CONTAINERD_SANDBOXES = 1024;
/** Longest containerd namespace or task id (containerd's own identifier limit is 76). */
export const MAX_CONTAINERD_NAME_LENGTH = 76;

/** How often a node agent heartbeats unless MOAT_HEARTBEAT_MS says otherwise. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;
/**
 * How long the control plane waits for a node's heartbeat unless MOAT_NODE_HEARTBEAT_TTL_MS
 * says otherwise: three default heartbeat intervals, so one or two lost beats are no outage.
 */
export const DEFAULT_HEARTBEAT_TTL_MS = 3 * DEFAULT_HEARTBEAT_INTERVAL_MS;

/**
 * Deadline of a guest agent call that should complete promptly (runtime-core's `callTimeoutMs`
 * default), such as reading a container's stats or pausing it.
 */
export const AGENT_CALL_TIMEOUT_MS = 10_000;
/**
 * How long the control plane waits for a node to answer a prompt request (`sandbox:stats`,
 * `sandbox:pause`): longer than {@link AGENT_CALL_TIMEOUT_MS}, so the node's clearer error arrives first.
 */
export const NODE_REQUEST_TIMEOUT_MS = 15_000;

/**
 * The largest socket.io message the control plane takes (its `maxHttpBufferSize`); a larger
 * one closes the sender's connection. A node agent refuses to send an answer that would not
 * fit (`REPLY_TOO_LARGE`) rather than lose its connection, and every request in flight on it,
 * over one command's output.
 */
export const MAX_FLEET_MESSAGE_BYTES = 8 * 1024 * 1024;

/** The highest 24-bit VXLAN network identifier: a tenant network's `vni` is 1 to this. */
export const MAX_VNI = 0xffffff;
/** The most peer nodes one tenant network's plan may list. */
export const MAX_TENANT_PEERS = 10_000;

/** The size of a move's one-time key (a TLS PSK), bytes. */
export const MOVE_KEY_BYTES = 32;
/** How long a target waits for the source to connect after `sandbox:receive` before it closes its port. */
export const MOVE_CONNECT_TIMEOUT_MS = 30_000;
/**
 * How long the control plane waits for `sandbox:send` to be answered: the whole transfer (a
 * saved VM and a disk, hundreds of MiB to GiB, between two nodes) and the target's import.
 */
export const MOVE_TRANSFER_TIMEOUT_MS = 10 * 60_000;
/**
 * How long after a move began the control plane settles it from the two nodes' heartbeats when
 * it never heard how it ended (the process that ran it died): past the transfer's timeout, so a
 * move whose runner is alive anywhere has ended by then.
 */
export const MOVE_SETTLE_AFTER_MS = MOVE_TRANSFER_TIMEOUT_MS + 2 * 60_000;
/**
 * How long a node keeps a sandbox it took in that the control plane has not yet placed on it,
 * and holds back from starting again one it sent away that is still placed on it; past that the
 * move counts as abandoned (the arrival is removed, the departure started afresh). Twice
 * MOVE_SETTLE_AFTER_MS: the control plane settles an abandoned move first.
 */
export const MOVE_ARRIVAL_GRACE_MS = 2 * MOVE_SETTLE_AFTER_MS;

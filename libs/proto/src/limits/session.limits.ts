/**
 * Interactive sessions (attach): the client ↔ control plane (`/attach`) ↔ node agent
 * (`/agents`) relay's sizes and timeouts, which each hop must agree on.
 */

/**
 * Largest chunk of input one `attach:input` / `session:input` event may carry: the control
 * plane and node agent refuse bigger ones, so clients split bigger writes.
 */
export const MAX_SESSION_CHUNK_BYTES = 1024 * 1024;

/** How long the control plane waits for a node to acknowledge `session:open` and `session:input`. */
export const SESSION_REQUEST_TIMEOUT_MS = 30_000;

/**
 * How long an attach client waits for the reply to `attach:start` (web, e2e) or `attach:input`
 * (e2e; the web terminal tells its user sooner): longer than {@link SESSION_REQUEST_TIMEOUT_MS},
 * so the control plane's own error arrives first.
 */
export const ATTACH_REPLY_TIMEOUT_MS = 60_000;

/**
 * How long one chunk of output may wait for its acknowledgement: the control plane waits this
 * long for the attach client's, the node agent this long for the control plane's relay of it.
 */
export const SESSION_OUTPUT_ACK_TIMEOUT_MS = 60_000;

/**
 * Sandbox logs (`sandbox:logs`): how much one page may carry and how long a node may hold a
 * request open waiting for more.
 */
import { NODE_REQUEST_TIMEOUT_MS } from './fleet.limits';

/**
 * Bytes of output one `sandbox:logs` page carries at most (each entry counted with its data and
 * a fixed overhead). Even as JSON, a byte array's worst case (`255,` for each byte) keeps the
 * reply well inside one fleet message; bigger logs come in several pages.
 */
export const MAX_LOGS_PAGE_BYTES = 1024 * 1024;

/**
 * The longest a node holds a `sandbox:logs` request open waiting for output: well below
 * {@link NODE_REQUEST_TIMEOUT_MS}, so an idle follower's request is answered (empty) before the
 * control plane gives up on it.
 */
export const MAX_LOGS_WAIT_MS = NODE_REQUEST_TIMEOUT_MS - 5_000;

/** The most lines `tail` may ask for. */
export const MAX_LOGS_TAIL_LINES = 100_000;

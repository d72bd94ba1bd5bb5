/**
 * How big a sandbox may be. The API's bounds sit inside the fleet protocol's, which sit inside
 * what the runtime starts, so a node never refuses a sandbox the API accepted.
 */

/** Most vCPUs the API accepts for a sandbox or a template (control plane DTOs). */
export const API_MAX_VCPUS = 32;
/** Fewest MiB of memory the API accepts for a sandbox or a template (control plane DTOs). */
export const API_MIN_MEMORY_MIB = 128;
/** Most MiB of memory the API accepts for a sandbox or a template (control plane DTOs). */
export const API_MAX_MEMORY_MIB = 65_536;

/**
 * Most vCPUs of one sandbox VM: the desired state's bound (node agents refuse more) and the
 * largest VM runtime-core starts.
 */
export const MAX_VCPUS = 64;
/** Fewest MiB of memory of one sandbox, in the desired state and in runtime-core's spec check. */
export const MIN_MEMORY_MIB = 64;
/** Most MiB of memory of one sandbox in the desired state (node agents refuse more). */
export const MAX_MEMORY_MIB = 262_144;

/**
 * Longest OCI image reference: the API (sandbox and template bodies), the desired state and
 * runtime-core (spec check, reference parser).
 */
export const MAX_IMAGE_REFERENCE_LENGTH = 1024;
/** Most ports one sandbox may publish: the API, the desired state and the status a node reports. */
export const MAX_PUBLISHED_PORTS = 64;
/** Most clones one fork makes (`POST /v1/sandboxes/:id/fork {count}`): the API and the desired state. */
export const MAX_FORK_CLONES = 16;

/**
 * Bounds of a sandbox's `idleTimeoutSeconds` (auto-hibernate), in the API and the desired state:
 * at least 10 s, as a node notices idleness only every few seconds and a wake costs more than
 * that; at most a week.
 */
export const MIN_IDLE_TIMEOUT_SECONDS = 10;
export const MAX_IDLE_TIMEOUT_SECONDS = 604_800;

/** Sizes of a sandbox's fences and resolver settings: the API (control plane DTOs), the desired state and the node agent. */

/** Most CIDRs one egress list may hold. */
export const MAX_EGRESS_CIDRS = 64;
/** resolv.conf's limits: 3 name servers, 6 search domains. */
export const MAX_DNS_SERVERS = 3;
export const MAX_DNS_SEARCH = 6;
/** Most resolver options one sandbox may set. */
export const MAX_DNS_OPTIONS = 8;

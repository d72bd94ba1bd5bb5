import { MoatError } from '@moat/proto';
import { describeError } from './runtime.errors';

/** Why plumbing a sandbox's network failed. */
export enum NetworkErrorCode {
  CNI_CONFIG_INVALID = 'CNI_CONFIG_INVALID',
  CNI_PLUGIN_NOT_FOUND = 'CNI_PLUGIN_NOT_FOUND',
  CNI_PLUGIN_FAILED = 'CNI_PLUGIN_FAILED',
  CNI_RESULT_INVALID = 'CNI_RESULT_INVALID',
  NETNS_FAILED = 'NETNS_FAILED',
  LINK_FAILED = 'LINK_FAILED',
  TENANT_NETWORK_FAILED = 'TENANT_NETWORK_FAILED',
  /** The node's sandbox firewall (nftables) could not be applied, or a sandbox's tracked flows (conntrack) not be forgotten. */
  FIREWALL_FAILED = 'FIREWALL_FAILED',
  SUBNET_POOL_EXHAUSTED = 'SUBNET_POOL_EXHAUSTED',
  PORT_UNAVAILABLE = 'PORT_UNAVAILABLE',
}

/** An error raised while plumbing a sandbox's network: by `network/`, and by `host/`'s TAP adapter. */
export class NetworkError extends MoatError<NetworkErrorCode> {}

/** Runs one plumbing step; a failure becomes a NetworkError with `code` that says what was being done. */
export async function withNetworkError<T>(code: NetworkErrorCode, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    throw new NetworkError(code, `${what}: ${describeError(cause)}`, { cause });
  }
}

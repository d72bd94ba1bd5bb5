import { expect } from '@jest/globals';
import { MAX_SOCKET_PATH_BYTES } from '../socket/shim-socket';

/**
 * Expects `address` to be a shim socket under `runDir`: `unix://<runDir>/s/<digest>`, the digest
 * cut where a long run dir (a long temp dir in tests) leaves no room for all of it. Its path.
 */
export function expectShimAddress(address: string, runDir: string): string {
  expect(address).toMatch(new RegExp(`^unix://${runDir}/s/[0-9a-f]{8,64}$`));
  const socket = address.slice('unix://'.length);
  expect(Buffer.byteLength(socket)).toBeLessThanOrEqual(MAX_SOCKET_PATH_BYTES);
  return socket;
}

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_KEY_PREFIX = 'moat_';
/** Join tokens an admin hands to a new node (exchanged once for a node credential). */
export const JOIN_TOKEN_PREFIX = 'moatj_';
const DISPLAY_PREFIX_LENGTH = 12;

/** A new tenant API key, its SHA-256 (what is stored) and its display prefix. */
export function generateApiKey(): { key: string; hash: string; prefix: string } {
  return generateSecret(API_KEY_PREFIX);
}

/**
 * A new random secret with a recognisable prefix (API key, join token, node credential),
 * its SHA-256 (what is stored) and its display prefix.
 */
export function generateSecret(prefix: string): { key: string; hash: string; prefix: string } {
  const key = prefix + randomBytes(32).toString('base64url');
  return { key, hash: hashApiKey(key), prefix: key.slice(0, DISPLAY_PREFIX_LENGTH) };
}

/**
 * SHA-256 suffices (no slow KDF): keys carry 256 random bits, so there is nothing to
 * brute-force, and lookups stay a single indexed query.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Compares secrets in time independent of where they differ. */
export function tokensEqual(given: string, expected: string): boolean {
  // Hashing first gives equal-length inputs, so the length check leaks nothing either.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
export function parseBearer(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

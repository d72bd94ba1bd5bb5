import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isLoopbackHost } from '@moat/runtime-core';

/** Where the agent connects, and what it trusts there. */
export interface ControlPlaneTarget {
  url: string;
  /** PEM of MOAT_TLS_CA: the only authority an `https://` control plane is checked against; absent: the system store. */
  ca?: string;
  /** A plain-HTTP control plane off this host, allowed by MOAT_INSECURE=true (logged at start). */
  insecure: boolean;
}

/**
 * Checks the control plane's address against the TLS settings: `https://` (verified against
 * `caFile` or the system store), or `http://` only on loopback unless `insecure`, since the
 * join token and the node's credential would otherwise cross the network in the clear.
 */
export function parseControlPlane(
  rawUrl: string,
  caFile: string | undefined,
  insecure: boolean,
): { target?: ControlPlaneTarget; problems: string[] } {
  const problems: string[] = [];
  const url = URL.canParse(rawUrl) ? new URL(rawUrl) : undefined;
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    return { problems: [`MOAT_CONTROL_PLANE_URL: an http:// or https:// URL, got "${rawUrl}"`] };
  }
  const plain = url.protocol === 'http:';
  if (plain && !insecure && !isLoopbackHost(url.hostname)) {
    problems.push(
      `MOAT_CONTROL_PLANE_URL: ${url.origin} is plain HTTP to another host, which would send the join token and the node's credential in the clear; use https:// (with MOAT_TLS_CA for a private CA), or MOAT_INSECURE=true on a network you trust`,
    );
  }
  if (plain && caFile !== undefined) {
    problems.push(`MOAT_TLS_CA is set but MOAT_CONTROL_PLANE_URL (${url.origin}) is not https://`);
  }
  const ca = caFile === undefined ? undefined : readCa(caFile, problems);
  if (problems.length > 0) return { problems };
  return { target: { url: rawUrl, ...(ca !== undefined && { ca }), insecure: plain && !isLoopbackHost(url.hostname) }, problems };
}

function readCa(file: string, problems: string[]): string | undefined {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`MOAT_TLS_CA: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return undefined;
  }
  try {
    new X509Certificate(pem);
  } catch {
    problems.push(`MOAT_TLS_CA: ${file} holds no PEM certificate`);
    return undefined;
  }
  return pem;
}

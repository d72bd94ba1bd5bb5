import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repositoryRoot } from './repository-root';

/** PEM files made by `tools/dev/tls-certs.mjs`: a CA, and a server certificate and key it signed. */
export interface TestCertificates {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * A fresh CA and a server certificate for localhost, 127.0.0.1 and ::1 (plus `hosts`) in `dir`,
 * made by the same tool the dev stack uses (Debian's openssl underneath). Another `dir` gives
 * another CA, which is how tests get a wrong one.
 */
export function testCertificates(dir: string, hosts: string[] = []): TestCertificates {
  const script = join(repositoryRoot(), 'tools/dev/tls-certs.mjs');
  const out = execFileSync(process.execPath, [script, dir, ...hosts], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out) as TestCertificates;
}

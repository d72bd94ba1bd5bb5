import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Secret } from '../common/secret';

/** The certificate (chain) and key the API port serves HTTPS and WSS with. */
export interface TlsConfig {
  certFile: string;
  keyFile: string;
  /** PEM: the server certificate, then any intermediates. */
  cert: string;
  /** PEM private key; secret, never logged. */
  key: Secret;
  /** When the server certificate stops being valid, for the start-up log. */
  validTo: string;
}

/**
 * `MOAT_TLS_CERT` and `MOAT_TLS_KEY` (PEM files): both set → TLS, neither → plain HTTP, anything
 * else is a problem, as are files that cannot be read, hold no certificate or key, an expired
 * certificate, or a key that is not the certificate's.
 */
export function parseTls(env: NodeJS.ProcessEnv, problems: string[]): TlsConfig | undefined {
  const certFile = env.MOAT_TLS_CERT || undefined;
  const keyFile = env.MOAT_TLS_KEY || undefined;
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    const [set, unset] = certFile === undefined ? ['MOAT_TLS_KEY', 'MOAT_TLS_CERT'] : ['MOAT_TLS_CERT', 'MOAT_TLS_KEY'];
    problems.push(`${set} is set but ${unset} is not: TLS needs both the certificate and its key`);
    return undefined;
  }
  const before = problems.length;
  const cert = readPem('MOAT_TLS_CERT', certFile, problems);
  const key = readPem('MOAT_TLS_KEY', keyFile, problems);
  if (cert === undefined || key === undefined) return undefined;

  const x509 = parse(() => new X509Certificate(cert), `MOAT_TLS_CERT: ${certFile} holds no PEM certificate`, problems);
  // The key's text is never echoed: a parse error could quote it.
  const keyObject = parse<KeyObject>(() => createPrivateKey(key), `MOAT_TLS_KEY: ${keyFile} holds no PEM private key`, problems);
  if (x509 && keyObject && !x509.checkPrivateKey(keyObject)) {
    problems.push(`MOAT_TLS_KEY: ${keyFile} is not the key of the certificate in ${certFile}`);
  }
  if (x509 && Date.parse(x509.validTo) <= Date.now()) {
    problems.push(`MOAT_TLS_CERT: the certificate in ${certFile} expired on ${x509.validTo}`);
  }
  if (problems.length > before || !x509) return undefined;
  return { certFile, keyFile, cert, key: new Secret(key), validTo: x509.validTo };
}

function readPem(name: string, file: string, problems: string[]): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return undefined;
  }
}

function parse<T>(make: () => T, problem: string, problems: string[]): T | undefined {
  try {
    return make();
  } catch {
    problems.push(problem);
    return undefined;
  }
}

import { readFileSync } from 'node:fs';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { CliError } from '../errors/exit-codes';
import type { StoredConfig } from './config.store';

/** Where the API is and how to talk to it: the stored login, each field overridden by the environment. */
export function resolveConnection(stored: StoredConfig | undefined, env: NodeJS.ProcessEnv): StoredConfig {
  const apiUrl = env.MOAT_API_URL || stored?.apiUrl;
  const token = env.MOAT_TOKEN || stored?.token;
  const caFile = env.MOAT_TLS_CA || stored?.caFile;
  if (!apiUrl || !token) {
    throw new CliError('not logged in: run `moat login <api-url> --token <token>`, or set MOAT_API_URL and MOAT_TOKEN');
  }
  return { apiUrl, token, ...(caFile && { caFile }) };
}

/**
 * Trusts the CA in `caFile` besides the usual ones, for every TLS connection this process makes
 * (fetch included): the API of a private installation has a certificate of its own CA.
 */
export function trustCa(caFile: string): void {
  let pem: string;
  try {
    pem = readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read the CA file ${caFile}: ${(err as Error).message}`);
  }
  setDefaultCACertificates([...getCACertificates('default'), pem]);
}

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { scratchDirs, testCertificates } from '@moat/test-support';
import { resolveConnection, trustCa } from './connection';

describe('resolveConnection', () => {
  const stored = { apiUrl: 'https://stored', token: 'stored-token', caFile: '/stored/ca.pem' };

  it('takes each of MOAT_API_URL, MOAT_TOKEN and MOAT_TLS_CA over the stored login', () => {
    expect(resolveConnection(stored, {})).toEqual(stored);
    expect(resolveConnection(stored, { MOAT_API_URL: 'https://env', MOAT_TLS_CA: '/env/ca.pem' })).toEqual({ apiUrl: 'https://env', token: 'stored-token', caFile: '/env/ca.pem' });
    expect(resolveConnection(undefined, { MOAT_API_URL: 'http://env', MOAT_TOKEN: 'env-token' })).toEqual({ apiUrl: 'http://env', token: 'env-token' });
  });

  it('refuses to go on without an API URL and a token', () => {
    expect(() => resolveConnection(undefined, { MOAT_API_URL: 'http://env' })).toThrow(/not logged in/);
  });
});

describe('trustCa', () => {
  const scratchDir = scratchDirs();
  let server: Server;
  let url: string;
  let caFile: string;

  beforeAll(async () => {
    const certs = testCertificates(scratchDir('moat-cli-ca-'));
    server = createServer({ cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    caFile = certs.caFile;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('makes fetch accept a certificate of the private CA it did not trust before', async () => {
    await expect(fetch(url)).rejects.toMatchObject({ cause: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } });
    trustCa(caFile);
    expect(await (await fetch(url)).text()).toBe('ok');
  });
});

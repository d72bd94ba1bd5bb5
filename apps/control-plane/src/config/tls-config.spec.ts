import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testCertificates, type TestCertificates } from '@moat/test-support';
import { ConfigError, loadConfig } from './app-config';

describe('loadConfig: TLS', () => {
  let dir: string;
  let pki: TestCertificates;
  let other: TestCertificates;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-config-tls-'));
    pki = testCertificates(join(dir, 'pki'));
    other = testCertificates(join(dir, 'other'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      loadConfig({ MOAT_DATA_DIR: join(dir, 'data'), ...env });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  it('serves plain HTTP when neither variable is set', () => {
    expect(loadConfig({ MOAT_DATA_DIR: join(dir, 'data') }).tls).toBeUndefined();
  });

  it('loads the certificate and key, and never shows the key when printed', () => {
    const config = loadConfig({ MOAT_DATA_DIR: join(dir, 'data'), MOAT_TLS_CERT: pki.certFile, MOAT_TLS_KEY: pki.keyFile });
    expect(config.tls).toMatchObject({ certFile: pki.certFile, keyFile: pki.keyFile });
    expect(config.tls?.cert).toContain('BEGIN CERTIFICATE');
    expect(config.tls?.key.reveal()).toContain('PRIVATE KEY');
    const printed = `${inspect(config, { depth: 5 })} ${JSON.stringify(config)}`;
    expect(printed).not.toContain('PRIVATE KEY');
  });

  it('refuses one of the two without the other', () => {
    expect(problemsOf({ MOAT_TLS_CERT: pki.certFile })).toEqual([
      'MOAT_TLS_CERT is set but MOAT_TLS_KEY is not: TLS needs both the certificate and its key',
    ]);
    expect(problemsOf({ MOAT_TLS_KEY: pki.keyFile })).toEqual([
      'MOAT_TLS_KEY is set but MOAT_TLS_CERT is not: TLS needs both the certificate and its key',
    ]);
  });

  it('names files it cannot read or that hold no certificate or key, with the other problems', () => {
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello\n');
    expect(problemsOf({ MOAT_TLS_CERT: join(dir, 'missing.pem'), MOAT_TLS_KEY: pki.keyFile, MOAT_LOG_LEVEL: 'loud' })).toEqual([
      expect.stringContaining('MOAT_LOG_LEVEL'),
      `MOAT_TLS_CERT: cannot read ${join(dir, 'missing.pem')} (ENOENT)`,
    ]);
    expect(problemsOf({ MOAT_TLS_CERT: notPem, MOAT_TLS_KEY: notPem })).toEqual([
      `MOAT_TLS_CERT: ${notPem} holds no PEM certificate`,
      `MOAT_TLS_KEY: ${notPem} holds no PEM private key`,
    ]);
  });

  it('refuses a key that is not the certificate’s', () => {
    expect(problemsOf({ MOAT_TLS_CERT: pki.certFile, MOAT_TLS_KEY: other.keyFile })).toEqual([
      `MOAT_TLS_KEY: ${other.keyFile} is not the key of the certificate in ${pki.certFile}`,
    ]);
  });

  it('takes a certificate file holding the chain', () => {
    const chain = join(dir, 'chain.pem');
    const ca = readFileSync(pki.caFile, 'utf8');
    writeFileSync(chain, `${readFileSync(pki.certFile, 'utf8')}${ca}`);
    expect(loadConfig({ MOAT_DATA_DIR: join(dir, 'data'), MOAT_TLS_CERT: chain, MOAT_TLS_KEY: pki.keyFile }).tls?.cert).toContain(ca);
  });
});

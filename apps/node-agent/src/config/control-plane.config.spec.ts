import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testCertificates } from '@moat/test-support';
import { ConfigError, loadAgentConfig } from './agent.config';

describe('loadAgentConfig: the control plane and TLS', () => {
  let dir: string;
  let caFile: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-agent-tls-'));
    caFile = testCertificates(join(dir, 'pki')).caFile;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const base = { MOAT_DATA_DIR: '/tmp/moat-config-test', MOAT_NODE_TOKEN: 'node-token' };
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      loadAgentConfig({ ...base, ...env });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };

  it('connects to the local control plane over plain HTTP by default, trusting the system store', () => {
    expect(loadAgentConfig(base)).toMatchObject({ controlPlaneUrl: 'http://127.0.0.1:8080', insecure: false });
    expect(loadAgentConfig(base).controlPlaneCa).toBeUndefined();
  });

  it('refuses plain HTTP to another host unless MOAT_INSECURE=true, and then says so', () => {
    expect(problemsOf({ MOAT_CONTROL_PLANE_URL: 'http://cp.example:8080' })).toEqual([
      expect.stringMatching(/^MOAT_CONTROL_PLANE_URL: http:\/\/cp\.example:8080 is plain HTTP to another host.*in the clear/),
    ]);
    expect(problemsOf({ MOAT_CONTROL_PLANE_URL: 'http://10.0.0.1:8080' })).toHaveLength(1);
    expect(loadAgentConfig({ ...base, MOAT_CONTROL_PLANE_URL: 'http://cp.example:8080', MOAT_INSECURE: 'true' })).toMatchObject({
      controlPlaneUrl: 'http://cp.example:8080',
      insecure: true,
    });
    for (const url of ['http://localhost:8080', 'http://127.0.0.2:8080', 'http://[::1]:8080']) {
      expect(loadAgentConfig({ ...base, MOAT_CONTROL_PLANE_URL: url })).toMatchObject({ controlPlaneUrl: url, insecure: false });
    }
  });

  it('takes https:// with the CA from MOAT_TLS_CA, or the system store without it', () => {
    const config = loadAgentConfig({ ...base, MOAT_CONTROL_PLANE_URL: 'https://cp.example:8443', MOAT_TLS_CA: caFile });
    expect(config).toMatchObject({ controlPlaneUrl: 'https://cp.example:8443', insecure: false });
    expect(config.controlPlaneCa).toContain('BEGIN CERTIFICATE');
    expect(loadAgentConfig({ ...base, MOAT_CONTROL_PLANE_URL: 'https://cp.example:8443' }).controlPlaneCa).toBeUndefined();
  });

  it('refuses a CA that cannot be read or holds no certificate, a CA with http://, and other schemes', () => {
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello\n');
    const https = { MOAT_CONTROL_PLANE_URL: 'https://cp.example:8443' };
    expect(problemsOf({ ...https, MOAT_TLS_CA: join(dir, 'missing.pem') })).toEqual([`MOAT_TLS_CA: cannot read ${join(dir, 'missing.pem')} (ENOENT)`]);
    expect(problemsOf({ ...https, MOAT_TLS_CA: notPem })).toEqual([`MOAT_TLS_CA: ${notPem} holds no PEM certificate`]);
    expect(problemsOf({ MOAT_TLS_CA: caFile })).toEqual(['MOAT_TLS_CA is set but MOAT_CONTROL_PLANE_URL (http://127.0.0.1:8080) is not https://']);
    expect(problemsOf({ MOAT_CONTROL_PLANE_URL: 'ftp://cp.example' })).toEqual([
      'MOAT_CONTROL_PLANE_URL: an http:// or https:// URL, got "ftp://cp.example"',
    ]);
    expect(problemsOf({ MOAT_INSECURE: 'yes' })).toEqual([expect.stringContaining('MOAT_INSECURE')]);
  });
});

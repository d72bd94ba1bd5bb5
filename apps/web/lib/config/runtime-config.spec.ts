import { describe, expect, it } from '@jest/globals';
import { parsePublicRuntimeConfig, resolveApiBase } from './runtime-config';

describe('parsePublicRuntimeConfig', () => {
  it('defaults to port 8080 on the page host', () => {
    expect(parsePublicRuntimeConfig({})).toEqual({ apiUrl: null, apiPort: 8080, apiTls: false });
  });

  it('reads the port and a full URL without its trailing slash', () => {
    expect(parsePublicRuntimeConfig({ MOAT_API_PORT: '18080', MOAT_PUBLIC_API_URL: 'https://api.example.com/' })).toEqual({
      apiUrl: 'https://api.example.com',
      apiPort: 18080,
      apiTls: false,
    });
  });

  it('knows the API speaks HTTPS when the control plane has a certificate', () => {
    expect(parsePublicRuntimeConfig({ MOAT_TLS_CERT: '/etc/moat/tls/server.pem' })).toMatchObject({ apiTls: true });
  });

  it('lists every invalid value', () => {
    expect(() => parsePublicRuntimeConfig({ MOAT_API_PORT: '80a', MOAT_PUBLIC_API_URL: 'ftp://x' })).toThrow(
      /MOAT_PUBLIC_API_URL must be an http\(s\) URL[\s\S]*MOAT_API_PORT must be a port number/,
    );
    expect(() => parsePublicRuntimeConfig({ MOAT_API_PORT: '70000' })).toThrow(/MOAT_API_PORT/);
  });
});

describe('resolveApiBase', () => {
  it('prefers the configured URL', () => {
    expect(resolveApiBase({ apiUrl: 'https://api.example.com', apiPort: 8080, apiTls: false }, { protocol: 'http:', hostname: 'x' })).toBe(
      'https://api.example.com',
    );
  });

  it('uses the page host with the API port', () => {
    expect(resolveApiBase({ apiUrl: null, apiPort: 18080, apiTls: false }, { protocol: 'http:', hostname: '10.0.0.5' })).toBe(
      'http://10.0.0.5:18080',
    );
    expect(resolveApiBase({ apiUrl: null, apiPort: 8080, apiTls: false }, { protocol: 'https:', hostname: '[::1]' })).toBe(
      'https://[::1]:8080',
    );
  });

  it('calls a TLS API over https even from a page served over plain HTTP', () => {
    expect(resolveApiBase({ apiUrl: null, apiPort: 8080, apiTls: true }, { protocol: 'http:', hostname: 'moat.lan' })).toBe(
      'https://moat.lan:8080',
    );
  });
});

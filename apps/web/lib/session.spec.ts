import { describe, expect, it } from '@jest/globals';
import { parseSession } from './session';

describe('parseSession', () => {
  it('reads an operator and a tenant session', () => {
    expect(parseSession('{"token":"t","role":"admin"}')).toEqual({ token: 't', role: 'admin' });
    expect(parseSession('{"token":"k","role":"tenant","tenant":{"id":"1","name":"acme"}}')).toEqual({
      token: 'k',
      role: 'tenant',
      tenant: { id: '1', name: 'acme' },
    });
  });

  it('treats anything malformed as signed out', () => {
    expect(parseSession(null)).toBeNull();
    expect(parseSession('not json')).toBeNull();
    expect(parseSession('{"token":"t","role":"root"}')).toBeNull();
  });
});

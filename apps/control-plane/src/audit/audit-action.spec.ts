import { describe, expect, it } from '@jest/globals';
import { deriveAuditAction } from './audit-action';

describe('deriveAuditAction', () => {
  it.each([
    ['POST', '/v1/sandboxes', { action: 'sandbox.create', targetType: 'sandbox' }],
    ['DELETE', '/v1/sandboxes/:id', { action: 'sandbox.delete', targetType: 'sandbox', targetParam: 'id' }],
    ['POST', '/v1/sandboxes/:id/exec', { action: 'sandbox.exec', targetType: 'sandbox', targetParam: 'id' }],
    ['PATCH', '/v1/nodes/:id', { action: 'node.update', targetType: 'node', targetParam: 'id' }],
    ['POST', '/v1/nodes/:id/cordon', { action: 'node.cordon', targetType: 'node', targetParam: 'id' }],
    ['POST', '/v1/nodes/join-tokens', { action: 'join-token.create', targetType: 'join-token' }],
    ['POST', '/v1/tenants/:id/suspend', { action: 'tenant.suspend', targetType: 'tenant', targetParam: 'id' }],
    ['POST', '/v1/tenants/:id/api-keys', { action: 'api-key.create', targetType: 'api-key' }],
    ['DELETE', '/v1/tenants/:id/api-keys/:keyId', { action: 'api-key.delete', targetType: 'api-key', targetParam: 'keyId' }],
    ['POST', '/v1/deployments/:id/rollouts', { action: 'rollout.create', targetType: 'rollout' }],
    ['POST', '/v1/rollouts/:id/pause', { action: 'rollout.pause', targetType: 'rollout', targetParam: 'id' }],
  ])('%s %s', (method, pattern, expected) => {
    expect(deriveAuditAction(method, pattern)).toEqual(expected);
  });
});

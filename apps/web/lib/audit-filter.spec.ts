import { describe, expect, it } from '@jest/globals';
import { matchesAudit } from './audit-filter';
import type { AuditEntry } from '@moat/sdk';

const entry: AuditEntry = {
  id: '1',
  at: '2025-01-01T12:00:00Z',
  actor: { kind: 'admin', id: 'admin' },
  tenantId: null,
  action: 'node.cordon',
  targetType: 'node',
  targetId: 'n1',
  result: 'success',
  status: 200,
  message: null,
};

describe('matchesAudit', () => {
  it('matches a live entry against the filter the list was loaded with', () => {
    expect(matchesAudit(entry, {})).toBe(true);
    expect(matchesAudit(entry, { actor: 'admin', action: 'node.cordon', targetType: 'node', targetId: 'n1' })).toBe(true);
    expect(matchesAudit(entry, { action: 'node.uncordon' })).toBe(false);
    expect(matchesAudit(entry, { targetId: 'n2' })).toBe(false);
  });

  it('respects the time window', () => {
    expect(matchesAudit(entry, { since: '2025-01-01T11:00:00Z', until: '2025-01-01T13:00:00Z' })).toBe(true);
    expect(matchesAudit(entry, { since: '2025-01-01T12:30:00Z' })).toBe(false);
    expect(matchesAudit(entry, { until: '2025-01-01T11:59:59Z' })).toBe(false);
  });
});

import { describe, expect, it } from '@jest/globals';
import { hibernationActions } from './sandbox-actions';

describe('hibernationActions', () => {
  it('hibernates a running sandbox with a block rootfs only', () => {
    expect(hibernationActions({ state: 'running', rootfs: 'block' })).toEqual({ hibernate: true, wake: false });
    expect(hibernationActions({ state: 'running', rootfs: 'virtiofs' })).toEqual({ hibernate: false, wake: false });
    expect(hibernationActions({ state: 'running', rootfs: null })).toEqual({ hibernate: false, wake: false });
  });

  it('wakes a sandbox that hibernates or is hibernated, nothing else', () => {
    expect(hibernationActions({ state: 'hibernating', rootfs: 'block' })).toEqual({ hibernate: false, wake: true });
    expect(hibernationActions({ state: 'hibernated', rootfs: 'block' })).toEqual({ hibernate: false, wake: true });
    for (const state of ['waking', 'pending', 'failed', 'stopping'] as const) {
      expect(hibernationActions({ state, rootfs: 'block' })).toEqual({ hibernate: false, wake: false });
    }
  });
});

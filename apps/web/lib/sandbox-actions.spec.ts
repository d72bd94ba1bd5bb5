import { describe, expect, it } from '@jest/globals';
import { forkable, hibernationActions, parseForkCount } from './sandbox-actions';

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

describe('forkable', () => {
  it('forks a running sandbox with a block rootfs only', () => {
    expect(forkable({ state: 'running', rootfs: 'block' })).toBe(true);
    expect(forkable({ state: 'running', rootfs: 'virtiofs' })).toBe(false);
    expect(forkable({ state: 'running', rootfs: null })).toBe(false);
    for (const state of ['pending', 'creating', 'hibernating', 'hibernated', 'waking', 'failed', 'stopping', 'unknown'] as const) {
      expect(forkable({ state, rootfs: 'block' })).toBe(false);
    }
  });
});

describe('parseForkCount', () => {
  it('takes 1 to 16 clones, one when blank', () => {
    expect(parseForkCount('')).toEqual({ count: 1, errors: [] });
    expect(parseForkCount(' 3 ')).toEqual({ count: 3, errors: [] });
    expect(parseForkCount('16')).toEqual({ count: 16, errors: [] });
    for (const raw of ['0', '17', '2.5', 'two']) {
      expect(parseForkCount(raw).errors).toEqual(['Clones must be a whole number from 1 to 16']);
    }
  });
});

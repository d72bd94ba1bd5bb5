import { describe, expect, it } from '@jest/globals';
import { forkable, hibernationActions, migratable, parseForkCount } from './sandbox-actions';

describe('hibernationActions', () => {
  it('hibernates a running sandbox with a block rootfs only', () => {
    expect(hibernationActions({ state: 'running', rootfs: 'block' })).toEqual({ hibernate: true, wake: false });
    expect(hibernationActions({ state: 'running', rootfs: 'virtiofs' })).toEqual({ hibernate: false, wake: false });
    expect(hibernationActions({ state: 'running', rootfs: null })).toEqual({ hibernate: false, wake: false });
  });

  it('wakes a sandbox that hibernates or is hibernated, nothing else', () => {
    expect(hibernationActions({ state: 'hibernating', rootfs: 'block' })).toEqual({ hibernate: false, wake: true });
    expect(hibernationActions({ state: 'hibernated', rootfs: 'block' })).toEqual({ hibernate: false, wake: true });
    for (const state of ['waking', 'migrating', 'pending', 'failed', 'stopping'] as const) {
      expect(hibernationActions({ state, rootfs: 'block' })).toEqual({ hibernate: false, wake: false });
    }
  });
});

// A fork captures the sandbox and a migration moves it: both need it running, with a block rootfs.
describe.each([
  ['forkable', forkable],
  ['migratable', migratable],
] as const)('%s', (_name, can) => {
  it('takes a running sandbox with a block rootfs only, not one hibernated or already moving', () => {
    expect(can({ state: 'running', rootfs: 'block' })).toBe(true);
    expect(can({ state: 'running', rootfs: 'virtiofs' })).toBe(false);
    expect(can({ state: 'running', rootfs: null })).toBe(false);
    for (const state of ['pending', 'creating', 'hibernating', 'hibernated', 'waking', 'migrating', 'failed', 'stopping', 'unknown'] as const) {
      expect(can({ state, rootfs: 'block' })).toBe(false);
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

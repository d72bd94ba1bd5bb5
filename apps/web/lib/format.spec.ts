import { describe, expect, it } from '@jest/globals';
import { containerdLabel, formatAge, formatBytes, formatDuration, formatMemory, formatSeconds, formatTimestamp, formatWarmPool, nodeLabel, shortId } from './format';

describe('format', () => {
  it("names a containerd sandbox's task, and nothing for Moat's own", () => {
    expect(containerdLabel({ origin: 'containerd', containerd: { namespace: 'k8s.io', id: 'web' } })).toBe('containerd k8s.io/web');
    expect(containerdLabel({ origin: 'containerd' })).toBe('containerd');
    expect(containerdLabel({ origin: 'moat' })).toBeNull();
    expect(containerdLabel({})).toBeNull();
  });

  it('shortens a UUID to its first block', () => {
    expect(shortId('3f2a9c1e-1111-2222-3333-444455556666')).toBe('3f2a9c1e');
  });

  it('shows memory in MiB below 1 GiB and in GiB above', () => {
    expect(formatMemory(512)).toBe('512 MiB');
    expect(formatMemory(2048)).toBe('2 GiB');
    expect(formatMemory(1536)).toBe('1.5 GiB');
  });

  it('shows byte counts in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(52 * 1024 * 1024)).toBe('52.0 MiB');
  });

  it('shows durations in ms below a second', () => {
    expect(formatDuration(63.4)).toBe('63 ms');
    expect(formatDuration(2600)).toBe('2.60 s');
    expect(formatDuration(61_000)).toBe('61.0 s');
  });

  it('formats whole seconds in the largest unit that divides them', () => {
    expect(formatSeconds(10)).toBe('10 s');
    expect(formatSeconds(90)).toBe('90 s');
    expect(formatSeconds(900)).toBe('15 min');
    expect(formatSeconds(7_200)).toBe('2 h');
    expect(formatSeconds(604_800)).toBe('7 d');
  });

  it('shows ages relative to now', () => {
    const now = Date.parse('2025-01-01T12:00:00Z');
    expect(formatAge('2025-01-01T11:59:58Z', now)).toBe('just now');
    expect(formatAge('2025-01-01T11:59:18Z', now)).toBe('42 s ago');
    expect(formatAge('2025-01-01T11:55:00Z', now)).toBe('5 min ago');
    expect(formatAge('2025-01-01T09:00:00Z', now)).toBe('3 h ago');
    expect(formatAge('2024-12-29T12:00:00Z', now)).toBe('3 d ago');
    // A clock slightly ahead of the browser's must not read "in the future".
    expect(formatAge('2025-01-01T12:00:03Z', now)).toBe('just now');
  });

  it('formats timestamps in UTC', () => {
    expect(formatTimestamp('2025-01-01T12:00:00.123Z')).toBe('2025-01-01 12:00:00 UTC');
  });

  it('names a node when it is known', () => {
    const nodes = { 'aaaa1111-0000-0000-0000-000000000000': { name: 'host-1' } };
    expect(nodeLabel('aaaa1111-0000-0000-0000-000000000000', nodes)).toBe('host-1');
    expect(nodeLabel('bbbb2222-0000-0000-0000-000000000000', nodes)).toBe('bbbb2222');
    expect(nodeLabel(null, nodes)).toBe('not scheduled');
  });

  it("says a node's warm pool per shape, and nothing without one", () => {
    expect(formatWarmPool([{ vcpus: 1, memoryMiB: 256, count: 2 }, { vcpus: 2, memoryMiB: 1024, count: 1 }])).toBe('2 × 1 vCPU, 256 MiB · 1 × 2 vCPUs, 1 GiB');
    expect(formatWarmPool([])).toBe('');
  });
});

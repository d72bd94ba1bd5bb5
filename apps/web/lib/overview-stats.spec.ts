import { describe, expect, it } from '@jest/globals';
import type { FleetNode, Sandbox } from '@moat/sdk';
import { nodeOf, sandboxOf } from '@moat/sdk/testing';
import { countByState, creationRate, fleetCapacity, median, startLatencies } from './overview-stats';

function sandbox(id: string, createdAt: string, timings: number[] = []): Sandbox {
  return sandboxOf({ id, state: 'running', createdAt, updatedAt: createdAt, timings: timings.map((ms, i) => ({ phase: `p${i}`, ms })) });
}

const node = (state: FleetNode['state'], offered: number, used: number): FleetNode =>
  nodeOf({ id: state, name: state, state, allocatable: { vcpus: offered, memoryMiB: offered * 1024 }, allocated: { vcpus: used, memoryMiB: used * 1024 } });

describe('creationRate', () => {
  it('counts sandboxes into the minute they were created, ignoring older ones', () => {
    const now = Date.parse('2025-01-01T00:10:00Z');
    const buckets = creationRate(
      [
        sandbox('a', '2025-01-01T00:09:30Z'),
        sandbox('b', '2025-01-01T00:09:59Z'),
        sandbox('c', '2025-01-01T00:08:10Z'),
        sandbox('old', '2025-01-01T00:01:00Z'),
      ],
      now,
      60_000,
      3,
    );
    expect(buckets.map((b) => b.value)).toEqual([0, 1, 2]);
  });
});

describe('startLatencies', () => {
  it('sums the phases of started sandboxes, oldest first, keeping the newest few', () => {
    const result = startLatencies(
      [
        sandbox('new', '2025-01-01T00:03:00Z', [100, 50]),
        sandbox('pending', '2025-01-01T00:04:00Z'),
        sandbox('old', '2025-01-01T00:01:00Z', [10]),
        sandbox('mid', '2025-01-01T00:02:00Z', [20, 20]),
      ],
      2,
    );
    expect(result.map((r) => [r.id, r.ms])).toEqual([
      ['mid', 40],
      ['new', 150],
    ]);
  });
});

describe('median', () => {
  it('is the middle value, or the mean of the two middle ones', () => {
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('countByState', () => {
  it('lists every state in order, zeros included', () => {
    expect(countByState([{ state: 'b' }, { state: 'b' }], ['a', 'b'])).toEqual([
      ['a', 0],
      ['b', 2],
    ]);
  });
});

describe('fleetCapacity', () => {
  it('leaves down nodes out of the capacity', () => {
    expect(fleetCapacity([node('ready', 4, 1), node('cordoned', 2, 2), node('down', 8, 0)])).toEqual({
      capacity: { vcpus: 6, memoryMiB: 6144 },
      allocated: { vcpus: 3, memoryMiB: 3072 },
    });
  });
});

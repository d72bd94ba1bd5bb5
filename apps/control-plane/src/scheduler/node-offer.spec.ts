import { describe, expect, it } from '@jest/globals';
import { allocatable, containerdHolds, NO_SIZING, reserved, sizingOf, type NodeSizing } from './node-offer';
import { PlacementTable, type Candidate, type PlacementPolicy, type PlacementRequest } from './placement';

const fallback = { cpuOvercommit: 1, memoryOvercommit: 1 };
const policy: PlacementPolicy = { strategy: 'spread', ...fallback };
/** What a current node agent on a TCG-less QEMU host says by default. */
const agentDefaults: NodeSizing = { sandboxOverheadMiB: 160, cpuOvercommit: 16, memoryReserveMiB: 1024 };

const node = (id: string, vcpus: number, memoryMiB: number, sizing?: NodeSizing): Candidate => ({
  id,
  capacity: { vcpus, memoryMiB },
  allocated: { vcpus: 0, memoryMiB: 0 },
  sizing: sizing ?? NO_SIZING,
  labels: {},
  keyCounts: new Map(),
});
const small: PlacementRequest = { vcpus: 1, memoryMiB: 256, nodeSelector: {}, antiAffinityKey: null };

/** How many of `request` the table takes before refusing one. */
function fill(table: PlacementTable, request: PlacementRequest): number {
  let placed = 0;
  while (table.place(request)) placed++;
  return placed;
}

describe("a node's offer", () => {
  it("is its CPUs times its own factor and its memory less its reserve; the control plane's factors when it names none", () => {
    expect(allocatable({ vcpus: 2, memoryMiB: 8192 }, agentDefaults, fallback)).toEqual({ vcpus: 32, memoryMiB: 7168 });
    expect(allocatable({ vcpus: 2, memoryMiB: 8192 }, NO_SIZING, { cpuOvercommit: 2, memoryOvercommit: 1.5 })).toEqual({ vcpus: 4, memoryMiB: 12288 });
    // The memory factor applies to what is left after the reserve, and a reserve above the memory leaves nothing.
    expect(allocatable({ vcpus: 3, memoryMiB: 3000 }, { ...agentDefaults, cpuOvercommit: 1.5 }, { cpuOvercommit: 8, memoryOvercommit: 2 })).toEqual({
      vcpus: 4,
      memoryMiB: 3952,
    });
    expect(allocatable({ vcpus: 1, memoryMiB: 512 }, agentDefaults, fallback).memoryMiB).toBe(0);
  });

  it('takes an older hello without the fields as no overhead, no reserve, no factor of its own and no warm pool', () => {
    expect(sizingOf({})).toEqual(NO_SIZING);
    expect(sizingOf({ sandboxOverheadMiB: 160, cpuOvercommit: 16, memoryReserveMiB: 1024 })).toEqual({ ...agentDefaults, warmPool: [] });
  });

  it("gives nothing of what its warm pool holds: each pool VM's vCPUs, and its memory with the node's overhead", () => {
    const pooled = { ...agentDefaults, warmPool: [{ vcpus: 1, memoryMiB: 256, count: 4 }, { vcpus: 2, memoryMiB: 1024, count: 1 }] };
    // 32 vCPUs less 4 + 2; (8192 − 1024 − 4 × 416 − 1184) MiB.
    expect(allocatable({ vcpus: 2, memoryMiB: 8192 }, pooled, fallback)).toEqual({ vcpus: 26, memoryMiB: 8192 - 1024 - 4 * 416 - 1184 });
    // A pool larger than the node leaves nothing, never less.
    expect(allocatable({ vcpus: 1, memoryMiB: 1024 }, { ...pooled, cpuOvercommit: 1 }, fallback)).toEqual({ vcpus: 0, memoryMiB: 0 });
  });

  it("gives nothing of what containerd's VMs hold there, beside its warm pool: each one's vCPUs, and its memory with the node's overhead", () => {
    const pooled = { ...agentDefaults, warmPool: [{ vcpus: 1, memoryMiB: 256, count: 1 }] };
    const tasks = [{ vcpus: 2, memoryMiB: 1024 }, { vcpus: 1, memoryMiB: 128 }];
    expect(containerdHolds(tasks, agentDefaults)).toEqual({ vcpus: 3, memoryMiB: 1184 + 288 });
    expect(allocatable({ vcpus: 2, memoryMiB: 8192 }, pooled, fallback, tasks)).toEqual({ vcpus: 32 - 1 - 3, memoryMiB: 8192 - 1024 - 416 - 1184 - 288 });
    expect(allocatable({ vcpus: 2, memoryMiB: 8192 }, pooled, fallback, [])).toEqual(allocatable({ vcpus: 2, memoryMiB: 8192 }, pooled, fallback));
    // More than the node has leaves nothing, never less.
    expect(allocatable({ vcpus: 1, memoryMiB: 1024 }, { ...agentDefaults, cpuOvercommit: 1 }, fallback, tasks)).toEqual({ vcpus: 0, memoryMiB: 0 });
  });

  it('counts each sandbox with the overhead of the node it is on', () => {
    expect(reserved({ vcpus: 3, memoryMiB: 768 }, 3, agentDefaults)).toEqual({ vcpus: 3, memoryMiB: 768 + 3 * 160 });
  });
});

describe('placing microVMs by what they reserve', () => {
  it('a fresh 2-CPU, 8 GiB node holds as many idle 256 MiB sandboxes as its memory does, not 2', () => {
    const table = new PlacementTable([node('a', 2, 8192, agentDefaults)], policy);
    // (8192 − 1024) MiB / (256 + 160) MiB a sandbox = 17, using 17 of the 32 vCPUs offered.
    expect(fill(table, small)).toBe(17);
    expect(table.explain(small)).toEqual({
      code: 'INSUFFICIENT_MEMORY',
      message: 'no ready node has 416 MiB free (256 MiB + 160 MiB overhead); largest free: 96 MiB',
    });
  });

  it('books the overhead into the node, so the next sandbox sees it', () => {
    const a = node('a', 4, 2048, { ...agentDefaults, memoryReserveMiB: 0 });
    const table = new PlacementTable([a], policy);
    expect(table.place(small)?.id).toBe('a');
    expect(a.allocated).toEqual({ vcpus: 1, memoryMiB: 416 });
  });

  it('an older node still offers only its real CPUs times MOAT_CPU_OVERCOMMIT', () => {
    expect(fill(new PlacementTable([node('old', 2, 8192)], policy), small)).toBe(2);
    expect(fill(new PlacementTable([node('old', 2, 8192)], { ...policy, cpuOvercommit: 3 }), small)).toBe(6);
  });

  it("names the overhead of the node closest to fitting when overheads differ", () => {
    const table = new PlacementTable([node('a', 8, 1024, { ...agentDefaults, memoryReserveMiB: 0 }), node('b', 8, 900, NO_SIZING)], policy);
    const big: PlacementRequest = { ...small, memoryMiB: 1000 };
    expect(table.place(big)).toBeUndefined();
    // a has 1024 MiB but needs 1160; b has 900 for 1000: b is closer.
    expect(table.explain(big)).toEqual({ code: 'INSUFFICIENT_MEMORY', message: 'no ready node has 1000 MiB free; largest free: 900 MiB' });
  });
});

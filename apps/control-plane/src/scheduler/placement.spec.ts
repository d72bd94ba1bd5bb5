import { describe, expect, it } from 'vitest';
import { Candidate, PlacementPolicy, PlacementRequest, PlacementTable } from './placement';

const node = (
  id: string,
  vcpus: number,
  memoryMiB: number,
  used: [number, number] = [0, 0],
  labels: Record<string, string> = {},
): Candidate => ({
  id,
  capacity: { vcpus, memoryMiB },
  allocated: { vcpus: used[0], memoryMiB: used[1] },
  labels,
  keyCounts: new Map(),
});

const req = (vcpus: number, memoryMiB: number, extra: Partial<PlacementRequest> = {}): PlacementRequest => ({
  vcpus,
  memoryMiB,
  nodeSelector: {},
  antiAffinityKey: null,
  ...extra,
});

const chooseNode = (request: PlacementRequest, nodes: Candidate[], policy: PlacementPolicy): Candidate | undefined =>
  new PlacementTable(nodes, policy).choose(request);

const spread: PlacementPolicy = { strategy: 'spread', cpuOvercommit: 1, memoryOvercommit: 1 };
const binpack: PlacementPolicy = { ...spread, strategy: 'binpack' };

describe('PlacementTable', () => {
  it('spread picks the least loaded node with room', () => {
    const nodes = [node('a', 8, 8192, [4, 1024]), node('b', 8, 8192, [1, 1024]), node('c', 8, 8192, [2, 6144])];
    expect(chooseNode(req(1, 256), nodes, spread)?.id).toBe('b');
  });

  it('binpack picks the fullest node that still has room', () => {
    const nodes = [node('a', 8, 8192, [4, 1024]), node('b', 8, 8192, [1, 1024]), node('c', 8, 8192, [8, 6144])];
    expect(chooseNode(req(1, 256), nodes, binpack)?.id).toBe('a');
  });

  it('skips nodes without room in either dimension', () => {
    const nodes = [node('a', 2, 8192, [2, 0]), node('b', 8, 512, [0, 0]), node('c', 4, 4096, [3, 3000])];
    expect(chooseNode(req(1, 1024), nodes, spread)?.id).toBe('c');
  });

  it('accepts a request that exactly fills a node, and nothing beyond', () => {
    expect(chooseNode(req(2, 512), [node('a', 4, 1024, [2, 512])], spread)?.id).toBe('a');
    expect(chooseNode(req(4, 256), [node('a', 4, 4096, [1, 0])], spread)).toBeUndefined();
    expect(chooseNode(req(1, 256), [], spread)).toBeUndefined();
  });

  it('offers overcommitted capacity', () => {
    const full = [node('a', 4, 1024, [4, 1024])];
    expect(chooseNode(req(2, 256), full, spread)).toBeUndefined();
    expect(chooseNode(req(2, 256), full, { ...spread, cpuOvercommit: 2 })).toBeUndefined();
    expect(chooseNode(req(2, 256), full, { ...spread, cpuOvercommit: 2, memoryOvercommit: 1.5 })?.id).toBe('a');
  });

  it('places only on nodes carrying every selected label', () => {
    const nodes = [node('a', 8, 8192, [0, 0], { zone: 'x' }), node('b', 8, 8192, [6, 0], { zone: 'y', gpu: 'yes' })];
    expect(chooseNode(req(1, 256, { nodeSelector: { zone: 'y' } }), nodes, spread)?.id).toBe('b');
    expect(chooseNode(req(1, 256, { nodeSelector: { zone: 'x', gpu: 'yes' } }), nodes, spread)).toBeUndefined();
  });

  it('spreads sandboxes sharing an anti-affinity key, even under binpack', () => {
    const nodes = [node('a', 8, 8192), node('b', 8, 8192), node('c', 8, 8192)];
    const replica = req(1, 256, { antiAffinityKey: 'deployment-1' });
    const table = new PlacementTable(nodes, binpack);
    const chosen = Array.from({ length: 6 }, () => table.place(replica)?.id);
    expect(chosen).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    // Without the key, binpack keeps filling one node.
    expect(table.choose(req(1, 256))?.id).toBe('a');
    // Bookings are written through to the candidates (the scheduler's index keeps them).
    expect(nodes.map((n) => [n.allocated.vcpus, n.keyCounts.get('deployment-1')])).toEqual([[2, 2], [2, 2], [2, 2]]);
  });

  it('breaks ties by id so the choice is stable', () => {
    expect(chooseNode(req(1, 256), [node('b', 4, 4096), node('a', 4, 4096)], spread)?.id).toBe('a');
    expect(chooseNode(req(1, 256), [node('c', 4, 4096), node('b', 8, 8192, [4, 4096]), node('a', 8, 8192, [4, 4096])], binpack)?.id).toBe('a');
  });

  it('spreads a run of placements over the least loaded nodes and then fills them evenly', () => {
    const nodes = [node('c', 4, 4096), node('a', 4, 4096), node('b', 4, 4096, [1, 256])];
    const table = new PlacementTable(nodes, spread);
    const chosen = Array.from({ length: 12 }, () => table.place(req(1, 256))?.id);
    // The empty a and c first (a by id), then round and round in id order; then no room is left.
    expect(chosen).toEqual(['a', 'c', 'a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c', undefined]);
  });
});

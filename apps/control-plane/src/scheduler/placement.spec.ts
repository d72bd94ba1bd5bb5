import { describe, expect, it } from '@jest/globals';
import { Candidate, PlacementPolicy, PlacementRequest, PlacementTable } from './placement';
import { node, req } from './testing/placement';

const chooseNode = (request: PlacementRequest, nodes: Candidate[], policy: PlacementPolicy): Candidate | undefined =>
  new PlacementTable(nodes, policy).place(request);

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

  it('refuses what is at least as large as a size that fit nowhere, for that selector only, and still places what is smaller', () => {
    const nodes = [node('a', 4, 4096, [0, 0], { zone: 'x' }), node('b', 4, 1024, [0, 0], { zone: 'y' })];
    const table = new PlacementTable(nodes, spread);
    const inY = { nodeSelector: { zone: 'y' } };
    expect(table.place(req(1, 2048, inY))).toBeUndefined();
    expect(table.place(req(2, 4096, inY))).toBeUndefined();
    // Another selector (here none) is not refused by what did not fit in zone y.
    expect(table.place(req(1, 2048))?.id).toBe('a');
    expect(table.place(req(1, 512, inY))?.id).toBe('b');
    expect(table.place(req(1, 512, inY))?.id).toBe('b');
    expect(table.place(req(1, 512, inY))).toBeUndefined();
  });

  it('spreads sandboxes sharing an anti-affinity key, even under binpack', () => {
    const nodes = [node('a', 8, 8192), node('b', 8, 8192), node('c', 8, 8192)];
    const replica = req(1, 256, { antiAffinityKey: 'deployment-1' });
    const table = new PlacementTable(nodes, binpack);
    const chosen = Array.from({ length: 6 }, () => table.place(replica)?.id);
    expect(chosen).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    // Without the key, binpack keeps filling one node.
    // Bookings are written through to the candidates (the scheduler's index keeps them).
    expect(nodes.map((n) => [n.allocated.vcpus, n.keyCounts.get('deployment-1')])).toEqual([[2, 2], [2, 2], [2, 2]]);
    expect(table.place(req(1, 256))?.id).toBe('a');
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

  it('ranks plain requests in a heap yet chooses exactly what a full scan would, until every node is full', () => {
    // A small deterministic generator: the same fleet and requests on every run.
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (const policy of [spread, binpack]) {
      const fleet = (): Candidate[] =>
        Array.from({ length: 300 }, (_, i) => node(`n${String(i).padStart(3, '0')}`, 1 + random(16), 512 * (1 + random(16)), [0, 0]));
      seed = 7;
      const nodes = fleet();
      seed = 7;
      const reference = fleet();
      const table = new PlacementTable(nodes, policy);
      seed = 99;
      let unplaced = 0;
      for (let n = 0; n < 3000; n++) {
        const request = req(1 + random(4), 256 * (1 + random(8)));
        const expected = bruteForce(request, reference, policy);
        expect(table.place(request)?.id).toBe(expected?.id);
        if (expected) {
          expected.allocated.vcpus += request.vcpus;
          expected.allocated.memoryMiB += request.memoryMiB;
        } else unplaced++;
      }
      // The run went on long enough to fill the fleet, where the heap gives way to the scan.
      expect(unplaced).toBeGreaterThan(100);
    }
  });
});

/** The placement rule written plainly, for comparison: every node, least (or most) loaded, then lower id. */
function bruteForce(request: PlacementRequest, nodes: Candidate[], policy: PlacementPolicy): Candidate | undefined {
  const load = (n: Candidate): number =>
    Math.max(n.allocated.vcpus / (n.capacity.vcpus * policy.cpuOvercommit), n.allocated.memoryMiB / (n.capacity.memoryMiB * policy.memoryOvercommit));
  const fits = nodes.filter(
    (n) => n.capacity.vcpus - n.allocated.vcpus >= request.vcpus && n.capacity.memoryMiB - n.allocated.memoryMiB >= request.memoryMiB,
  );
  const sign = policy.strategy === 'spread' ? 1 : -1;
  return fits.sort((a, b) => sign * (load(a) - load(b)) || (a.id < b.id ? -1 : 1))[0];
}

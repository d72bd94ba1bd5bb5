import { describe, expect, it } from '@jest/globals';
import { Candidate, PlacementPolicy, PlacementRequest, PlacementTable } from './placement';
import { node, req } from './testing/placement';
import { unplacedReason } from './unplaced-reason';

const policy: PlacementPolicy = { strategy: 'spread', cpuOvercommit: 1, memoryOvercommit: 1 };

/** What the table says after refusing the request. */
function refused(nodes: Candidate[], request: PlacementRequest) {
  const table = new PlacementTable(nodes, policy);
  expect(table.place(request)).toBeUndefined();
  return table.explain(request);
}

describe('why a sandbox is not placed', () => {
  it('no node is ready', () => {
    expect(refused([], req(1, 256))).toEqual({ code: 'NO_READY_NODE', message: 'no node is ready' });
  });

  it('no ready node carries the selector', () => {
    expect(refused([node('a', 8, 8192, [0, 0], { tier: 'cpu' })], req(1, 256, { nodeSelector: { tier: 'gpu' } }))).toEqual({
      code: 'NO_MATCHING_NODE',
      message: 'no ready node carries the label tier=gpu',
    });
  });

  it('vCPUs: the largest free on one node, not the sum over nodes', () => {
    const nodes = [node('a', 2, 8192, [1, 0]), node('b', 2, 8192, [1, 0])];
    expect(refused(nodes, req(2, 256))).toEqual({ code: 'INSUFFICIENT_VCPUS', message: 'no ready node has 2 free vCPUs; largest free: 1' });
  });

  it('memory, counting only the nodes that match the selector', () => {
    const nodes = [node('a', 8, 8192, [0, 0], { tier: 'cpu' }), node('b', 8, 1024, [0, 512], { tier: 'gpu' })];
    expect(refused(nodes, req(1, 640, { nodeSelector: { tier: 'gpu' } }))).toEqual({
      code: 'INSUFFICIENT_MEMORY',
      message: 'no ready node carrying tier=gpu has 640 MiB free; largest free: 512 MiB',
    });
  });

  it('both resources exist, never on one node', () => {
    const nodes = [node('a', 4, 1024, [0, 768]), node('b', 4, 4096, [4, 0])];
    expect(refused(nodes, req(2, 512))).toEqual({
      code: 'INSUFFICIENT_RESOURCES',
      message: 'no ready node has both 2 free vCPUs and 512 MiB free; largest free: 4 vCPUs on one node, 4096 MiB on one node',
    });
  });

  it('overbooked nodes (capacity lowered under their sandboxes) count as nothing free', () => {
    expect(unplacedReason(req(1, 256), { nodes: 1, matching: 1, largestFreeVcpus: -3, largestFreeMemoryMiB: 100, memoryOverheadMiB: 0 })).toEqual({
      code: 'INSUFFICIENT_VCPUS',
      message: 'no ready node has 1 free vCPU; largest free: 0',
    });
  });

  it('a booking on the table changes the reason it gives next', () => {
    const table = new PlacementTable([node('a', 4, 8192)], policy);
    expect(table.place(req(3, 256))?.id).toBe('a');
    expect(table.place(req(2, 256))).toBeUndefined();
    expect(table.explain(req(2, 256)).message).toBe('no ready node has 2 free vCPUs; largest free: 1');
    expect(table.place(req(1, 256))?.id).toBe('a');
    expect(table.explain(req(2, 256)).message).toBe('no ready node has 2 free vCPUs; largest free: 0');
  });
});

import { describe, expect, it } from 'vitest';
import { Candidate, chooseNode } from './placement';

const node = (id: string, vcpus: number, memoryMiB: number, used: [number, number] = [0, 0]): Candidate => ({
  id,
  capacity: { vcpus, memoryMiB },
  allocated: { vcpus: used[0], memoryMiB: used[1] },
});

describe('chooseNode', () => {
  it('picks the least loaded node with room, spreading sandboxes', () => {
    const nodes = [node('a', 8, 8192, [4, 1024]), node('b', 8, 8192, [1, 1024]), node('c', 8, 8192, [2, 6144])];
    expect(chooseNode({ vcpus: 1, memoryMiB: 256 }, nodes)?.id).toBe('b');
  });

  it('skips nodes without room in either dimension', () => {
    const nodes = [node('a', 2, 8192, [2, 0]), node('b', 8, 512, [0, 0]), node('c', 4, 4096, [3, 3000])];
    expect(chooseNode({ vcpus: 1, memoryMiB: 1024 }, nodes)?.id).toBe('c');
  });

  it('accepts a request that exactly fills a node', () => {
    expect(chooseNode({ vcpus: 2, memoryMiB: 512 }, [node('a', 4, 1024, [2, 512])])?.id).toBe('a');
  });

  it('returns nothing when no node has room', () => {
    expect(chooseNode({ vcpus: 4, memoryMiB: 256 }, [node('a', 4, 4096, [1, 0])])).toBeUndefined();
    expect(chooseNode({ vcpus: 1, memoryMiB: 256 }, [])).toBeUndefined();
  });

  it('breaks ties by id so the choice is stable', () => {
    expect(chooseNode({ vcpus: 1, memoryMiB: 256 }, [node('b', 4, 4096), node('a', 4, 4096)])?.id).toBe('a');
  });

  it('keeps replicas of one deployment apart before balancing load (anti-affinity)', () => {
    const nodes = [node('a', 8, 8192, [1, 256]), node('b', 8, 8192, [6, 6144])];
    const peers = new Map([['a', 1]]);
    expect(chooseNode({ vcpus: 1, memoryMiB: 256 }, nodes, (id) => peers.get(id) ?? 0)?.id).toBe('b');
  });
});

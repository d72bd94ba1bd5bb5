import { describe, expect, it } from '@jest/globals';
import { NO_FILTER, filterSandboxes, sortSandboxes } from './sandbox-table';
import type { Sandbox } from '@moat/sdk';
import { sandboxOf } from '@moat/sdk/testing';

function sandbox(id: string, state: Sandbox['state'], vcpus: number, nodeId: string | null, image: string | null = null): Sandbox {
  return sandboxOf({
    id,
    nodeId,
    state,
    vcpus,
    image,
    labels: { app: id === 'c' ? 'web' : 'db' },
    createdAt: `2025-01-01T00:00:0${id.charCodeAt(0) - 96}Z`,
    updatedAt: 'x',
  });
}

const list = [sandbox('a', 'running', 2, 'n1', 'alpine'), sandbox('b', 'failed', 1, 'n2'), sandbox('c', 'running', 4, null)];
const names: Record<string, string> = { n1: 'host-one', n2: 'host-two' };
const name = (id: string | null) => (id ? (names[id] ?? id) : 'not scheduled');

describe('filterSandboxes', () => {
  it('filters by state and node', () => {
    expect(filterSandboxes(list, { ...NO_FILTER, state: 'running' }, name).map((s) => s.id)).toEqual(['a', 'c']);
    expect(filterSandboxes(list, { ...NO_FILTER, nodeId: 'n2' }, name).map((s) => s.id)).toEqual(['b']);
  });

  it('searches image, labels and node names case-insensitively', () => {
    expect(filterSandboxes(list, { ...NO_FILTER, text: 'ALPINE' }, name).map((s) => s.id)).toEqual(['a']);
    expect(filterSandboxes(list, { ...NO_FILTER, text: 'app=web' }, name).map((s) => s.id)).toEqual(['c']);
    expect(filterSandboxes(list, { ...NO_FILTER, text: 'host-two' }, name).map((s) => s.id)).toEqual(['b']);
  });
});

describe('sortSandboxes', () => {
  it('sorts numbers numerically and both ways', () => {
    expect(sortSandboxes(list, 'vcpus', 'ascending', name).map((s) => s.id)).toEqual(['b', 'a', 'c']);
    expect(sortSandboxes(list, 'vcpus', 'descending', name).map((s) => s.id)).toEqual(['c', 'a', 'b']);
  });

  it('sorts by node name and by creation time', () => {
    expect(sortSandboxes(list, 'node', 'ascending', name).map((s) => s.id)).toEqual(['a', 'b', 'c']);
    expect(sortSandboxes(list, 'createdAt', 'descending', name).map((s) => s.id)).toEqual(['c', 'b', 'a']);
  });
});

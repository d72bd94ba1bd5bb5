import { describe, expect, it } from '@jest/globals';
import { MAX_CONTAINERD_NAME_LENGTH, MAX_CONTAINERD_SANDBOXES } from '../limits/fleet.limits';
import { nodeHeartbeatSchema, type ContainerdSandbox } from './node.schemas';

const sandbox = (over: Partial<ContainerdSandbox> = {}): ContainerdSandbox => ({
  id: '6a1f3c2e-9b8d-4e7f-a6b5-c4d3e2f1a0b9',
  containerd: { namespace: 'default', id: 'web' },
  vcpus: 1,
  memoryMiB: 256,
  state: 'running',
  since: '2026-12-06T16:00:00.000Z',
  ...over,
});
const parses = (beat: unknown) => nodeHeartbeatSchema.safeParse(beat).success;

describe('nodeHeartbeatSchema: containerd sandboxes', () => {
  it("takes an older agent's beat without them, and a beat listing them", () => {
    expect(parses({ sandboxIds: [] })).toBe(true);
    const parsed = nodeHeartbeatSchema.parse({ sandboxIds: [], containerd: [sandbox()] });
    expect(parsed.containerd).toEqual([sandbox()]);
  });

  it('refuses a malformed one: no UUID, no size, an unknown state, a bad time, names out of bounds', () => {
    expect(parses({ sandboxIds: [], containerd: [sandbox({ id: 'web' })] })).toBe(false);
    expect(parses({ sandboxIds: [], containerd: [sandbox({ vcpus: 0 })] })).toBe(false);
    expect(parses({ sandboxIds: [], containerd: [sandbox({ memoryMiB: 1.5 })] })).toBe(false);
    expect(parses({ sandboxIds: [], containerd: [sandbox({ state: 'gone' as never })] })).toBe(false);
    expect(parses({ sandboxIds: [], containerd: [sandbox({ since: 'yesterday' })] })).toBe(false);
    expect(parses({ sandboxIds: [], containerd: [sandbox({ containerd: { namespace: '', id: 'web' } })] })).toBe(false);
    const long = 'x'.repeat(MAX_CONTAINERD_NAME_LENGTH + 1);
    expect(parses({ sandboxIds: [], containerd: [sandbox({ containerd: { namespace: 'default', id: long } })] })).toBe(false);
    expect(parses({ sandboxIds: [], containerd: [{ ...sandbox(), containerd: undefined }] })).toBe(false);
  });

  it('bounds how many one beat lists', () => {
    expect(parses({ sandboxIds: [], containerd: Array.from({ length: MAX_CONTAINERD_SANDBOXES }, () => sandbox()) })).toBe(true);
    expect(parses({ sandboxIds: [], containerd: Array.from({ length: MAX_CONTAINERD_SANDBOXES + 1 }, () => sandbox()) })).toBe(false);
  });
});

import { describe, expect, it } from '@jest/globals';
import { infoOf, type SandboxEntry } from './sandbox.entry';
import { sandboxPaths, type SandboxState } from './sandbox.state';

const ID = '6a1f3c2e-9b8d-4e7f-a6b5-c4d3e2f1a0b9';

const state = (over: Partial<SandboxState> = {}): SandboxState => ({
  version: 1,
  spec: { id: ID, vcpus: 2, memoryMiB: 384, env: {} },
  state: 'running',
  accel: 'tcg',
  transport: 'virtio-serial',
  sharedFsKind: 'virtiofs',
  vmmPid: 43,
  paths: sandboxPaths('/var/lib/moat', '/run/moat', ID),
  timings: [{ phase: 'rootfs', ms: 3 }],
  sandboxCreated: true,
  containerCreated: true,
  ...over,
});

describe('infoOf', () => {
  it('reports the size its spec asks for, so the node can report what it holds', () => {
    const info = infoOf({ state: state(), phase: 'running' });
    expect(info).toMatchObject({ id: ID, state: 'running', vcpus: 2, memoryMiB: 384, vmmPid: 43 });
    expect(info.containerd).toBeUndefined();
  });

  it('names the containerd task of a sandbox containerd started, and drops the pid of a failed VMM', () => {
    const entry: SandboxEntry = { state: state({ spec: { id: ID, vcpus: 1, memoryMiB: 128, env: {}, containerd: { namespace: 'k8s.io', id: 'web' } } }), phase: 'failed' };
    const info = infoOf(entry);
    expect(info).toMatchObject({ vcpus: 1, memoryMiB: 128, containerd: { namespace: 'k8s.io', id: 'web' } });
    expect(info.vmmPid).toBeUndefined();
    // A copy: the report cannot change the spec.
    info.containerd!.id = 'x';
    expect(entry.state.spec.containerd!.id).toBe('web');
  });
});

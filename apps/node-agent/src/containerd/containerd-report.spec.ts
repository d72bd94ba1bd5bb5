import { describe, expect, it } from '@jest/globals';
import { MAX_CONTAINERD_SANDBOXES, nodeHeartbeatSchema } from '@moat/proto';
import type { SandboxInfo } from '@moat/runtime-core';
import { HeartbeatReport } from './containerd-report';

const MOAT = '11111111-1111-4111-8111-111111111111';
const TASK = '22222222-2222-4222-8222-222222222222';

const info = (id: string, over: Partial<SandboxInfo> = {}): SandboxInfo => ({
  id,
  state: 'running',
  vcpus: 1,
  memoryMiB: 256,
  timings: [],
  rootfs: 'virtiofs',
  accel: 'tcg',
  transport: 'virtio-serial',
  ...over,
});

describe('HeartbeatReport', () => {
  it("lists the control plane's sandboxes by id and containerd's with their task, size, state and since when", () => {
    let now = new Date('2026-12-06T16:00:00.000Z');
    const report = new HeartbeatReport(() => now);
    const task = info(TASK, { state: 'creating', vcpus: 2, memoryMiB: 512, containerd: { namespace: 'k8s.io', id: 'web' }, vmmPid: 42 });
    const beat = report.of([info(MOAT), task]);
    expect(beat).toEqual({
      sandboxIds: [MOAT],
      containerd: [{ id: TASK, containerd: { namespace: 'k8s.io', id: 'web' }, vcpus: 2, memoryMiB: 512, state: 'creating', since: '2026-12-06T16:00:00.000Z' }],
    });
    // What the control plane's schema takes.
    expect(nodeHeartbeatSchema.parse(beat)).toEqual(beat);

    // The same state keeps its time; a new one starts a new time.
    now = new Date('2026-12-06T16:00:05.000Z');
    expect(report.of([info(MOAT), task]).containerd?.[0].since).toBe('2026-12-06T16:00:00.000Z');
    expect(report.of([info(MOAT), { ...task, state: 'running' }]).containerd?.[0]).toMatchObject({ state: 'running', since: '2026-12-06T16:00:05.000Z' });
  });

  it('drops a deleted task at the next beat, and forgets when it came', () => {
    let now = new Date('2026-12-06T16:00:00.000Z');
    const report = new HeartbeatReport(() => now);
    const task = info(TASK, { containerd: { namespace: 'default', id: 't1' } });
    expect(report.of([task]).containerd).toHaveLength(1);
    expect(report.of([])).toEqual({ sandboxIds: [], containerd: [] });
    now = new Date('2026-12-06T16:01:00.000Z');
    expect(report.of([task]).containerd?.[0].since).toBe('2026-12-06T16:01:00.000Z');
  });

  it('lists no more than a heartbeat may carry', () => {
    const report = new HeartbeatReport();
    const many = Array.from({ length: MAX_CONTAINERD_SANDBOXES + 3 }, (_, i) =>
      info(`33333333-3333-4333-8333-${String(i).padStart(12, '0')}`, { containerd: { namespace: 'default', id: `t${i}` } }),
    );
    const beat = report.of(many);
    expect(beat.containerd).toHaveLength(MAX_CONTAINERD_SANDBOXES);
    expect(nodeHeartbeatSchema.safeParse(beat).success).toBe(true);
  });
});

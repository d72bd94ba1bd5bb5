import type { FleetNode, Sandbox } from '../api.types';

// Representations for tests of code that uses the SDK: complete, so tests name only what matters.

/** A sandbox as the API shows it (pending, unplaced), with `overrides`. */
export function sandboxOf(overrides: Partial<Sandbox> = {}): Sandbox {
  return {
    id: '7f0c1d2e-0000-4000-8000-000000000001',
    origin: 'moat',
    tenantId: '7f0c1d2e-0000-4000-8000-0000000000aa',
    nodeId: null,
    state: 'pending',
    savedBytes: null,
    pendingReason: null,
    vcpus: 1,
    memoryMiB: 256,
    image: null,
    command: null,
    rootfs: null,
    idleTimeoutSeconds: null,
    env: {},
    labels: {},
    nodeSelector: {},
    timings: [],
    forkedFrom: null,
    deploymentId: null,
    templateId: null,
    templateVersion: null,
    networkModel: null,
    network: true,
    ip: null,
    ports: [],
    egress: null,
    dns: null,
    isolation: null,
    health: 'unknown',
    restartPolicy: { type: 'never' },
    restartCount: 0,
    events: [],
    createdAt: '2026-12-06T00:00:00.000Z',
    updatedAt: '2026-12-06T00:00:00.000Z',
    ...overrides,
  };
}

/** A node as the API shows it (ready, idle, 2 vCPUs and 4 GiB), with `overrides`. */
export function nodeOf(overrides: Partial<FleetNode> = {}): FleetNode {
  return {
    id: '7f0c1d2e-0000-4000-8000-0000000000bb',
    name: 'node-1',
    state: 'ready',
    labels: {},
    capacity: { vcpus: 2, memoryMiB: 4096 },
    allocatable: { vcpus: 2, memoryMiB: 4096 },
    allocated: { vcpus: 0, memoryMiB: 0 },
    sandboxOverheadMiB: 160,
    cpuOvercommit: 1,
    memoryReserveMiB: 0,
    warmPool: [],
    sandboxCount: 0,
    accel: 'tcg',
    hypervisors: ['qemu'],
    agentVersion: '0.1.0',
    jailed: true,
    lastHeartbeatAt: '2026-12-06T00:00:00.000Z',
    createdAt: '2026-12-06T00:00:00.000Z',
    ...overrides,
  };
}

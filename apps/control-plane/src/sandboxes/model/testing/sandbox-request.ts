import type { SandboxRequest } from '../sandbox.entity';

/** A plain request for tests: 1 vCPU, 256 MiB of busybox, no placement, network on; `overrides` say the rest. */
export const sandboxRequest = (overrides: Partial<SandboxRequest> & Pick<SandboxRequest, 'tenantId'>): SandboxRequest => ({
  nodeId: null,
  placedAt: null,
  vcpus: 1,
  memoryMiB: 256,
  image: 'busybox',
  command: null,
  rootfs: null,
  idleTimeoutSeconds: null,
  env: {},
  labels: {},
  nodeSelector: {},
  antiAffinityKey: null,
  networkModel: null,
  network: true,
  ports: [],
  egress: null,
  dns: null,
  deploymentId: null,
  templateId: null,
  templateVersion: null,
  restartPolicy: { type: 'never' },
  ...overrides,
});

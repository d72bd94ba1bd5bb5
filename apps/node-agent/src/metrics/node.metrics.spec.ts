import type { AddressInfo } from 'node:net';
import type { SandboxInfo } from '@moat/runtime-core';
import pino from 'pino';
import { afterEach, describe, expect, it } from '@jest/globals';
import { serveMetrics } from './metrics.server';
import { NodeMetrics } from './node.metrics';

const log = pino({ level: 'silent' });
const running = (timings: SandboxInfo['timings']): SandboxInfo => ({ id: 'a', state: 'running', vcpus: 1, memoryMiB: 256, timings, accel: 'tcg', transport: 'virtio-serial', rootfs: 'virtiofs' });

describe('NodeMetrics', () => {
  it('counts starts by outcome, observes each start phase and pulls, and lists sandboxes by state', async () => {
    const held: Pick<SandboxInfo, 'state'>[] = [{ state: 'running' }, { state: 'running' }, { state: 'failed' }];
    const metrics = new NodeMetrics(() => held, () => [{ shape: { vcpus: 1, memoryMiB: 256 }, waiting: 3, target: 4 }]);
    metrics.started(running([{ phase: 'restore', ms: 300 }, { phase: 'agent', ms: 1200 }]), undefined);
    metrics.started({ ...running([{ phase: 'rootfs', ms: 2500 }]), state: 'failed' }, 4096);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^moat_sandbox_starts_total\{result="running"\} 1$/m);
    expect(text).toMatch(/^moat_sandbox_starts_total\{result="failed"\} 1$/m);
    expect(text).toMatch(/^moat_sandbox_start_phase_duration_seconds_sum\{phase="agent"\} 1\.2$/m);
    expect(text).toMatch(/^moat_sandbox_start_phase_duration_seconds_bucket\{le="0\.5",phase="restore"\} 1$/m);
    expect(text).toMatch(/^moat_image_pulls_total 1$/m);
    expect(text).toMatch(/^moat_image_pull_bytes_total 4096$/m);
    expect(text).toMatch(/^moat_node_sandboxes\{state="running"\} 2$/m);
    expect(text).toMatch(/^moat_node_sandboxes\{state="failed"\} 1$/m);
    expect(text).toMatch(/^moat_build_info\{component="node-agent",version="\d+\.\d+\.\d+",nodejs_version="v[^"]+"\} 1$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^moat_warm_pool_vms\{shape="1x256",kind="waiting"\} 3$/m);
    expect(text).toMatch(/^moat_warm_pool_vms\{shape="1x256",kind="target"\} 4$/m);
    // A state the node no longer holds disappears instead of keeping its last count.
    held.splice(2, 1);
    expect(await metrics.registry.metrics()).not.toMatch(/^moat_node_sandboxes\{state="failed"\}/m);
  });
});

describe('serveMetrics', () => {
  const servers: { close(): void }[] = [];
  afterEach(() => servers.splice(0).forEach((s) => s.close()));

  it('serves GET /metrics in the Prometheus format and nothing else', async () => {
    const metrics = new NodeMetrics(() => []);
    const server = await serveMetrics(metrics.registry, { host: '127.0.0.1', port: 0 }, log);
    if (!server) throw new Error('not served');
    servers.push(server);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const ok = await fetch(`${base}/metrics`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/plain');
    expect(await ok.text()).toContain('moat_build_info');
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(404);
  });

  it('runs on without metrics when the address is taken', async () => {
    const metrics = new NodeMetrics(() => []);
    const first = await serveMetrics(metrics.registry, { host: '127.0.0.1', port: 0 }, log);
    if (!first) throw new Error('not served');
    servers.push(first);
    const taken = { host: '127.0.0.1', port: (first.address() as AddressInfo).port };
    expect(await serveMetrics(metrics.registry, taken, log)).toBeUndefined();
  });
});

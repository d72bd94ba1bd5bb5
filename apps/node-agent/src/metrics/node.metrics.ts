import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PoolShape, SandboxInfo } from '@moat/runtime-core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** This build's version, from the app's package.json (one level above both src/ and dist/). */
const VERSION = (JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;

/** What the reconciler tells about the sandboxes it starts. */
export interface StartObserver {
  /** A create finished (running or failed), after pulling `pulledBytes` of image layers if it pulled. */
  started(info: SandboxInfo, pulledBytes: number | undefined): void;
}

/** The node agent's Prometheus registry: its process, its sandboxes, their starts and pulls. */
export class NodeMetrics implements StartObserver {
  readonly registry = new Registry();

  private readonly phases = new Histogram({
    name: 'moat_sandbox_start_phase_duration_seconds',
    help: 'Time each start phase of a sandbox took on this node (rootfs, jail, sharefs, network, vmm or restore, plug for a warm-pool VM, agent, sandbox, container)',
    labelNames: ['phase'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  private readonly starts = new Counter({
    name: 'moat_sandbox_starts_total',
    help: 'Sandbox starts on this node by outcome (running or failed)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  private readonly pulls = new Counter({
    name: 'moat_image_pulls_total',
    help: 'Sandbox starts that pulled image layers from a registry',
    registers: [this.registry],
  });

  private readonly pullBytes = new Counter({
    name: 'moat_image_pull_bytes_total',
    help: 'Bytes of image layers pulled from registries',
    registers: [this.registry],
  });

  constructor(
    sandboxes: () => readonly Pick<SandboxInfo, 'state'>[],
    warmPool: () => readonly { shape: PoolShape; waiting: number; target: number }[] = () => [],
  ) {
    // Node's process and runtime metrics under their standard names (process_*, nodejs_*).
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'moat_build_info',
      help: 'Always 1; the labels say which build of the node agent runs',
      labelNames: ['component', 'version', 'nodejs_version'] as const,
      registers: [this.registry],
    }).set({ component: 'node-agent', version: VERSION, nodejs_version: process.version }, 1);
    new Gauge({
      name: 'moat_node_sandboxes',
      help: 'Sandboxes this node holds, by state',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { state } of sandboxes()) this.inc({ state });
      },
    });
    new Gauge({
      name: 'moat_warm_pool_vms',
      help: "Warm-pool VMs per shape (<vcpus>x<memoryMiB>): waiting now, and the pool's target",
      labelNames: ['shape', 'kind'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { shape, waiting, target } of warmPool()) {
          const label = `${shape.vcpus}x${shape.memoryMiB}`;
          this.set({ shape: label, kind: 'waiting' }, waiting);
          this.set({ shape: label, kind: 'target' }, target);
        }
      },
    });
  }

  started(info: SandboxInfo, pulledBytes: number | undefined): void {
    this.starts.inc({ result: info.state === 'running' ? 'running' : 'failed' });
    for (const { phase, ms } of info.timings) this.phases.observe({ phase }, ms / 1000);
    if (pulledBytes !== undefined) {
      this.pulls.inc();
      this.pullBytes.inc(pulledBytes);
    }
  }
}

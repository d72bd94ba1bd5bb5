import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { NODE_STATES, SANDBOX_STATES } from '@moat/proto';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';

/** This build's version, from the app's package.json (one level above both src/ and dist/). */
const VERSION = (JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;

/**
 * The control plane's Prometheus registry. Other features add their own metrics to
 * `registry` (e.g. `new Gauge({ name: 'moat_rollout_…', registers: [metrics.registry] })`).
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  /** From a sandbox's creation to its placement on a node. */
  readonly schedulingLatency = new Histogram({
    name: 'moat_scheduling_duration_seconds',
    help: 'Time from a sandbox being created to its placement on a node',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly placements = new Counter({
    name: 'moat_placements_total',
    help: 'Sandboxes placed on nodes by this process',
    registers: [this.registry],
  });

  readonly schedulerBatchSeconds = new Histogram({
    name: 'moat_scheduler_batch_duration_seconds',
    help: 'Duration of one scheduler transaction (admissions and placements, committed together)',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'moat_http_request_duration_seconds',
    help: 'REST API latency by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60],
    registers: [this.registry],
  });

  /** Node agents connected to this process (other replicas count their own). */
  readonly agentsConnected = new Gauge({
    name: 'moat_agents_connected',
    help: 'Node agent sockets connected to this control-plane process',
    registers: [this.registry],
  });

  constructor(@InjectDataSource() dataSource: DataSource) {
    // Node's process and runtime metrics under their standard names (process_*, nodejs_*).
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'moat_build_info',
      help: 'Always 1; the labels say which build of the control plane runs',
      labelNames: ['component', 'version', 'nodejs_version'] as const,
      registers: [this.registry],
    }).set({ component: 'control-plane', version: VERSION, nodejs_version: process.version }, 1);
    new Gauge({
      name: 'moat_nodes',
      help: 'Nodes by state (the whole fleet, from the database)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        const counts = await countBy(dataSource, 'nodes', 'state');
        for (const state of NODE_STATES) this.set({ state }, counts.get(state) ?? 0);
      },
    });
    new Gauge({
      name: 'moat_sandboxes',
      help: 'Sandboxes by state (all tenants, from the database)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        const counts = await countBy(dataSource, 'sandboxes', 'state');
        for (const state of SANDBOX_STATES) this.set({ state }, counts.get(state) ?? 0);
      },
    });
  }
}

async function countBy(dataSource: DataSource, table: 'nodes' | 'sandboxes', column: 'state'): Promise<Map<string, number>> {
  const rows = await dataSource
    .createQueryBuilder()
    .select(`t.${column}`, 'value')
    .addSelect('COUNT(*)', 'count')
    .from(table, 't')
    .groupBy(`t.${column}`)
    .getRawMany<{ value: string; count: string | number }>();
  return new Map(rows.map((r) => [r.value, Number(r.count)]));
}

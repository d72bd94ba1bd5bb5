import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { formatMs, percentile } from '../stats';

/** What the probe's thread is told: where to ask, and how often. */
export interface ProbeSettings {
  url: string;
  intervalMs: number;
}

/** One answer: when it was asked (wall clock, ms since the epoch) and how long it took. */
export interface ProbeSample {
  at: number;
  ms: number;
}

/**
 * Asks the control plane `GET /healthz` every `intervalMs`, each time on a new connection (as a
 * one-off `curl` would), and keeps how long each answer took: how responsive the API stays
 * while the fleet keeps the control plane busy. The asking runs on a thread of its own
 * (health-probe.worker.ts), so the benchmark's own work on this thread — its REST load, the
 * fleet's reports — never delays an answer it times.
 */
export class HealthProbe {
  private readonly samples: { at: number; ms: number }[] = [];
  private readonly worker: Worker;

  constructor(url: string, intervalMs = 100) {
    const settings: ProbeSettings = { url, intervalMs };
    this.worker = new Worker(join(__dirname, 'health-probe.worker.js'), { workerData: settings });
    // Kept on this thread's clock, the one the phases' bounds are taken on.
    this.worker.on('message', (sample: ProbeSample) => this.samples.push({ at: sample.at - performance.timeOrigin, ms: sample.ms }));
  }

  /** p50, p99 and max of the answers asked for in [from, to) (`performance.now()` times). */
  summary(from: number, to: number): string {
    const ms = this.samples.filter((s) => s.at >= from && s.at < to).map((s) => s.ms);
    if (ms.length === 0) return 'no answers';
    ms.sort((a, b) => a - b);
    return `p50 ${formatMs(percentile(ms, 50))}, p99 ${formatMs(percentile(ms, 99))}, max ${formatMs(ms[ms.length - 1])} (${ms.length} asked)`;
  }

  /** Stops asking; resolves once the thread has sent its last answer and ended. */
  async stop(): Promise<void> {
    const ended = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage('stop');
    await ended;
  }
}

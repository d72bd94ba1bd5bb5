import { formatMs, percentile } from '../stats';
import { JsonClient } from './json-client';

/**
 * Asks the control plane `GET /healthz` every `intervalMs`, each time on a new connection (as a
 * one-off `curl` would), and keeps how long each answer took: how responsive the API stays
 * while the fleet keeps the control plane busy.
 */
export class HealthProbe {
  private readonly samples: { at: number; ms: number }[] = [];
  private readonly client: JsonClient;
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    url: string,
    private readonly intervalMs = 100,
  ) {
    this.client = new JsonClient(url, { connections: 1, keepAlive: false });
    this.loop = this.run();
  }

  /** p50, p99 and max of the answers asked for in [from, to) (`performance.now()` times). */
  summary(from: number, to: number): string {
    const ms = this.samples.filter((s) => s.at >= from && s.at < to).map((s) => s.ms);
    if (ms.length === 0) return 'no answers';
    ms.sort((a, b) => a - b);
    return `p50 ${formatMs(percentile(ms, 50))}, p99 ${formatMs(percentile(ms, 99))}, max ${formatMs(ms[ms.length - 1])} (${ms.length} asked)`;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.client.close();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const at = performance.now();
      const answered = await this.client.send('GET', '/healthz').then(
        ({ status }) => status === 200,
        () => false,
      );
      if (answered) this.samples.push({ at, ms: performance.now() - at });
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
  }
}

/**
 * A fleet of SIMULATED node agents spread over worker processes (real socket.io connections,
 * simulated runtimes; see simulated-agent.ts). Reusable by any fleet benchmark phase.
 */
import type { Capacity } from '@moat/proto';
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { join } from 'node:path';

/** What one worker is told to run. */
export interface WorkerSettings {
  url: string;
  token?: string;
  joinTokens?: string[];
  firstIndex: number;
  count: number;
  capacity: Capacity;
  heartbeatMs: number;
  connectConcurrency: number;
}

export type WorkerMessage =
  | { kind: 'started'; connected: number; failed: number; lastError: string }
  | { kind: 'report'; connected: number; sandboxes: number; desiredSets: number; statuses: number }
  | { kind: 'resized' };

export interface FleetReport {
  connected: number;
  sandboxes: number;
  desiredSets: number;
  statuses: number;
}

export class SimulatedFleet {
  private constructor(private readonly workers: ChildProcess[]) {}

  /**
   * Starts `agents` simulated agents over `workers` processes; resolves once every one has
   * joined and said hello (or failed: the counts say how many).
   */
  static async start(opts: {
    url: string;
    agents: number;
    workers: number;
    capacity: Capacity;
    heartbeatMs: number;
    /** One single-use join token per agent; without them agents use `token`. */
    joinTokens?: string[];
    token?: string;
    /**
     * The worker processes' nice value: the agents stand for other hosts, whose work never
     * takes a core from the control plane; above 0 they yield the machine's cores to it.
     */
    nice?: number;
  }): Promise<{ fleet: SimulatedFleet; connected: number; failed: number; lastError: string }> {
    const perWorker = Math.ceil(opts.agents / opts.workers);
    const children: ChildProcess[] = [];
    const started: Promise<Extract<WorkerMessage, { kind: 'started' }>>[] = [];
    for (let w = 0; w < opts.workers; w++) {
      const firstIndex = w * perWorker;
      const count = Math.max(0, Math.min(perWorker, opts.agents - firstIndex));
      if (count === 0) break;
      const settings: WorkerSettings = {
        url: opts.url,
        token: opts.token,
        joinTokens: opts.joinTokens?.slice(firstIndex, firstIndex + count),
        firstIndex,
        count,
        capacity: opts.capacity,
        heartbeatMs: opts.heartbeatMs,
        connectConcurrency: 50,
      };
      const child = fork(join(__dirname, 'simulated-agent.worker.js'), [], {
        env: { ...process.env, MOAT_SIM_SETTINGS: JSON.stringify(settings) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      if (opts.nice && child.pid !== undefined) setPriority(child.pid, opts.nice);
      children.push(child);
      started.push(nextMessage(child, 'started'));
    }
    const results = await Promise.all(started);
    return {
      fleet: new SimulatedFleet(children),
      connected: results.reduce((n, r) => n + r.connected, 0),
      failed: results.reduce((n, r) => n + r.failed, 0),
      lastError: results.map((r) => r.lastError).find((e) => e) ?? '',
    };
  }

  /** Sums what every worker's agents hold right now. */
  async report(): Promise<FleetReport> {
    const replies = await Promise.all(
      this.workers.map((child) => {
        const reply = nextMessage(child, 'report');
        child.send({ kind: 'report' });
        return reply;
      }),
    );
    return {
      connected: replies.reduce((n, r) => n + r.connected, 0),
      sandboxes: replies.reduce((n, r) => n + r.sandboxes, 0),
      desiredSets: replies.reduce((n, r) => n + r.desiredSets, 0),
      statuses: replies.reduce((n, r) => n + r.statuses, 0),
    };
  }

  /** Every agent says hello again with this capacity; resolves once all were acknowledged. */
  async resize(capacity: Capacity): Promise<void> {
    await Promise.all(
      this.workers.map((child) => {
        const done = nextMessage(child, 'resized');
        child.send({ kind: 'resize', capacity });
        return done;
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.send({ kind: 'stop' });
            setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
          }),
      ),
    );
  }
}

function nextMessage<K extends WorkerMessage['kind']>(child: ChildProcess, kind: K): Promise<Extract<WorkerMessage, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: WorkerMessage): void => {
      if (message.kind !== kind) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as Extract<WorkerMessage, { kind: K }>);
    };
    const onExit = (code: number | null): void => reject(new Error(`simulated agent worker exited (${code})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

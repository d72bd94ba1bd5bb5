import { Injectable, Logger } from '@nestjs/common';
import { Subject } from 'rxjs';
import { AgentChannel } from '../fleet/agent.channel';
import type { ResolvedHealthCheck } from '../templates/model/template-spec';

export interface ProbeTarget {
  sandboxId: string;
  nodeId: string;
  check: ResolvedHealthCheck;
}

export type ProbeVerdict = 'healthy' | 'unhealthy';

/** At most this many health-check execs are in flight at once, fleet-wide. */
const MAX_CONCURRENT_PROBES = 64;
/** Extra wait beyond the check's own timeout for the relay through the node agent. */
const RELAY_MARGIN_MS = 2_000;

interface Tracked {
  lastStartedAt: number;
  failures: number;
  inFlight: boolean;
}

/**
 * Runs deployment health checks through the node agents' exec relay (so the command runs
 * inside the guest) and collects verdicts for the reconciler to store in one batch. A
 * sandbox is unhealthy after `failureThreshold` consecutive failures and healthy again
 * after one success, as Kubernetes probes behave. Probe bookkeeping is in memory: after a
 * restart the stored verdicts stand until the next probes.
 */
@Injectable()
export class HealthProber {
  private readonly logger = new Logger(HealthProber.name);
  private readonly tracked = new Map<string, Tracked>();
  private verdicts = new Map<string, ProbeVerdict>();
  private active = 0;
  /** Ticks whenever a new verdict is waiting. */
  readonly verdictArrived = new Subject<void>();

  constructor(private readonly agents: AgentChannel) {}

  /** Starts the probes that are due among `targets`; sandboxes not listed are forgotten. */
  schedule(targets: readonly ProbeTarget[], now = Date.now()): void {
    const listed = new Set(targets.map((t) => t.sandboxId));
    for (const id of this.tracked.keys()) if (!listed.has(id)) this.tracked.delete(id);
    for (const target of targets) {
      if (this.active >= MAX_CONCURRENT_PROBES) return;
      const tracked = this.tracked.get(target.sandboxId) ?? { lastStartedAt: 0, failures: 0, inFlight: false };
      this.tracked.set(target.sandboxId, tracked);
      if (tracked.inFlight || now - tracked.lastStartedAt < target.check.intervalMs) continue;
      tracked.inFlight = true;
      tracked.lastStartedAt = now;
      this.active += 1;
      void this.probe(target, tracked).finally(() => {
        tracked.inFlight = false;
        this.active -= 1;
      });
    }
  }

  /** The verdicts reached since the last call, latest per sandbox. */
  takeVerdicts(): Map<string, ProbeVerdict> {
    const taken = this.verdicts;
    this.verdicts = new Map();
    return taken;
  }

  private async probe(target: ProbeTarget, tracked: Tracked): Promise<void> {
    const { sandboxId, nodeId, check } = target;
    let passed = false;
    try {
      const result = await this.agents.exec(
        nodeId,
        { sandboxId, command: check.command, timeoutMs: check.timeoutMs, probe: true },
        check.timeoutMs + RELAY_MARGIN_MS,
      );
      passed = result.exitCode === 0;
    } catch (err) {
      this.logger.debug({ err, sandboxId }, 'health check could not run');
    }
    if (!this.tracked.has(sandboxId)) return;
    tracked.failures = passed ? 0 : tracked.failures + 1;
    if (passed) this.verdict(sandboxId, 'healthy');
    else if (tracked.failures >= check.failureThreshold) this.verdict(sandboxId, 'unhealthy');
  }

  private verdict(sandboxId: string, verdict: ProbeVerdict): void {
    this.verdicts.set(sandboxId, verdict);
    this.verdictArrived.next();
  }
}

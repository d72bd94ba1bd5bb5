import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SandboxesService } from './sandboxes.service';

/** How often due restarts are looked for: the shortest backoff is a second. */
const RESTART_TICK_MS = 1_000;

/**
 * The loop behind restart policies: every second it restarts the failed sandboxes whose
 * restart is due (SandboxesService.restartDue). Level-triggered like the rest: what is due
 * lives in the database (`restartAt`), so a restarted control plane carries on.
 */
@Injectable()
export class RestartScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(RestartScheduler.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly sandboxes: SandboxesService) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.tick(), RESTART_TICK_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.sandboxes
      .restartDue(new Date())
      .then(() => undefined)
      .catch((err: unknown) => this.logger.error({ err }, 'restarting failed sandboxes failed'))
      .finally(() => {
        this.running = undefined;
      });
  }
}

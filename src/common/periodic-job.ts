import type { LoggerService } from '@nestjs/common';

/**
 * A background task run every `intervalMs` (0 disables it), never overlapping itself; a failed
 * run is logged and retried at the next tick. Safe with several replicas only if the task is
 * (advisory lock or SKIP LOCKED in its SQL).
 */
export class PeriodicJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly log: LoggerService,
    private readonly task: () => Promise<unknown>,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    if (this.running !== undefined) return;
    this.running = this.task()
      .catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.log.warn(`${this.name} failed: ${message}`);
      })
      .finally(() => {
        this.running = undefined;
      });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}

import { Injectable } from '@nestjs/common';

/** Whether the service is shutting down: once draining, readiness answers 503 so that the
 *  orchestrator stops routing new traffic here, while requests that still arrive are served. */
@Injectable()
export class Lifecycle {
  private drainingSince: number | undefined;

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  startDraining(): void {
    this.drainingSince ??= Date.now();
  }
}

import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  ConflictError,
  NotFoundError,
  messages,
  PaymentRefusedError,
  UnprocessableError,
} from '../common/errors.js';
import { PeriodicJob } from '../common/periodic-job.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import type { Queryable } from '../database/sql.js';
import {
  type Capture,
  type NewHold,
  type Refusal,
  type ReservationRow,
  ReservationsRepository,
} from './reservations.repository.js';

export interface Captured {
  transactionId: string;
  balance: number;
  available: number;
}

/** Holds (TigerBeetle's pending transfers): hold → capture | release | expiry, exactly once. */
@Injectable()
export class ReservationsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('Reservations');
  private readonly sweepJob: PeriodicJob;

  constructor(
    private readonly reservations: ReservationsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.sweepJob = new PeriodicJob(
      'reservation sweep',
      config.reservations.sweepIntervalMs,
      this.log,
      () => this.sweep(),
    );
  }

  onApplicationBootstrap(): void {
    this.sweepJob.start();
  }

  // Before the database pool closes (which happens at application shutdown).
  async onModuleDestroy(): Promise<void> {
    await this.sweepJob.stop();
  }

  async hold(hold: NewHold, db?: Queryable): Promise<ReservationRow> {
    const outcome = await this.reservations.hold(hold, db);
    switch (outcome.result) {
      case 'held':
        return outcome.reservation;
      case 'insufficient_balance':
        throw new PaymentRefusedError(
          'INSUFFICIENT_BALANCE',
          messages.insufficientBalance(hold.amount),
        );
      case 'no_account':
        throw new PaymentRefusedError('ACCOUNT_NOT_FOUND', messages.noAccount(hold.userId));
    }
  }

  async find(id: string): Promise<ReservationRow> {
    const reservation = await this.reservations.find(id);
    if (reservation === undefined) {
      throw new NotFoundError('RESERVATION_NOT_FOUND', `No reservation ${id}.`);
    }
    return reservation;
  }

  async capture(capture: Capture, db?: Queryable): Promise<Captured> {
    const outcome = await this.reservations.capture(capture, db);
    if (outcome.result === 'captured') return outcome;
    if (outcome.state === 'held') {
      if (capture.amount !== null && capture.amount > outcome.held && !capture.allowOverage) {
        throw new UnprocessableError(
          'CAPTURE_EXCEEDS_HOLD',
          `The capture of ${capture.amount} tokens exceeds the ${outcome.held} held; ` +
            'send allow_overage: true to debit the excess from the available balance.',
        );
      }
      throw new PaymentRefusedError(
        'INSUFFICIENT_BALANCE',
        `The available balance cannot cover the ${(capture.amount ?? 0) - outcome.held} tokens ` +
          'over the hold; the hold stays held.',
      );
    }
    throw notHeld(capture.reservationId, outcome);
  }

  async release(userId: string, id: string, db?: Queryable): Promise<ReservationRow> {
    const outcome = await this.reservations.release(userId, id, db);
    if (outcome.result === 'released') return outcome.reservation;
    throw notHeld(id, outcome);
  }

  /** Marks holds past expiry as expired, in bounded batches (their tokens are free already). */
  async sweep(): Promise<number> {
    const { batchSize } = this.config.jobs;
    let total = 0;
    for (let batch = 0; batch < 10; batch += 1) {
      const swept = await this.reservations.sweep(batchSize);
      total += swept;
      if (swept < batchSize) break;
    }
    if (total > 0) this.log.log(`marked ${total} reservation(s) expired`);
    return total;
  }
}

function notHeld(id: string, refusal: Refusal): Error {
  switch (refusal.state) {
    case 'gone':
      return new NotFoundError('RESERVATION_NOT_FOUND', `No reservation ${id}.`);
    case 'expired':
      return new ConflictError('RESERVATION_EXPIRED', `Reservation ${id} has expired.`);
    case 'held':
    case 'captured':
    case 'released':
      return new ConflictError(
        'RESERVATION_NOT_HELD',
        `Reservation ${id} is no longer held (${refusal.state}).`,
      );
  }
}

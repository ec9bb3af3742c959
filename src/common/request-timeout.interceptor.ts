import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { type Observable, throwError, timeout } from 'rxjs';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { UnavailableError } from './errors.js';

/**
 * No request hangs past REQUEST_TIMEOUT_MS: it is answered 503 DATABASE_UNAVAILABLE (the database
 * is what a request waits on). Its effect may still commit afterwards, so the outcome is unknown
 * to the caller: a retry with the same Idempotency-Key settles it.
 */
@Injectable()
export class RequestTimeoutInterceptor implements NestInterceptor {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const ms = this.config.requestTimeoutMs;
    return next.handle().pipe(
      timeout({
        first: ms,
        with: () =>
          throwError(
            () =>
              new UnavailableError(
                'DATABASE_UNAVAILABLE',
                `The request did not complete within ${ms} ms; its outcome is unknown. Retry ` +
                  'with the same Idempotency-Key to settle it.',
              ),
          ),
      }),
    );
  }
}

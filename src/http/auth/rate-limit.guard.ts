import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { callerOf, type RequestWithCaller } from '../caller.js';
import { RateLimitedError } from '../../common/errors.js';
import { accessRule } from './access.js';
import { RateLimiter } from './rate-limiter.js';

/** Per-client rate limits (BILLING_RATE_LIMITS), after authentication; health is never limited. */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly limiter: RateLimiter;

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.limiter = new RateLimiter(config.rateLimits);
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.limiter.enabled) return true;
    const rule = accessRule(this.reflector, context);
    if (rule !== null && 'public' in rule) return true;
    const request = context.switchToHttp().getRequest<RequestWithCaller>();
    const { name } = callerOf(request);
    const waitMs = this.limiter.take(name, Date.now());
    if (waitMs > 0) {
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      throw new RateLimitedError(
        `Client "${name}" is over its rate limit; retry in ${seconds} s.`,
        seconds,
      );
    }
    return true;
  }
}

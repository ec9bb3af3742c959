import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import type { RequestWithCaller } from '../caller.js';
import { ForbiddenError, UnauthenticatedError } from '../../common/errors.js';
import { accessRule } from './access.js';
import { Credentials } from './credentials.js';

const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * Who may call what. Runs before pipes, so an unauthenticated request is refused before its body
 * is validated. Sets `request.caller` to the authenticated client (read through callerOf()).
 * Without configured clients (auth mode `open` or `off`) every caller is `anonymous`.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly credentials: Credentials | undefined;

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.credentials =
      config.auth.mode === 'clients' ? new Credentials(config.auth.clients) : undefined;
  }

  canActivate(context: ExecutionContext): boolean {
    const rule = accessRule(this.reflector, context);
    if (rule !== null && 'public' in rule) return true;
    if (this.credentials === undefined) return true;

    const request = context.switchToHttp().getRequest<RequestWithCaller>();
    const header = request.headers.authorization;
    if (header === undefined || header === '') {
      throw new UnauthenticatedError(
        'This operation needs a client token: Authorization: Bearer <token>.',
        false,
      );
    }
    const token = BEARER.exec(header)?.[1];
    const client = token === undefined ? undefined : this.credentials.find(token);
    if (client === undefined) {
      throw new UnauthenticatedError('The bearer token is not valid.', true);
    }
    request.caller = { name: client.name };
    if (rule === null) {
      throw new ForbiddenError('This operation declares no scope, so no client may call it.');
    }
    if (!client.scopes.has(rule.scope)) {
      throw new ForbiddenError(`Client "${client.name}" lacks the "${rule.scope}" scope.`);
    }
    return true;
  }
}

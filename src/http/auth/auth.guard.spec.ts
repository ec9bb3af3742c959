import { describe, expect, it } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { loadConfig } from '../../config/config.js';
import type { RequestWithCaller } from '../caller.js';
import { ForbiddenError, UnauthenticatedError } from '../../common/errors.js';
import { Public, RequiresScope } from './access.js';
import { AuthGuard } from './auth.guard.js';

const TOKEN = 'k'.repeat(40);

class Routes {
  @RequiresScope('credit')
  credit(): void {}
  @Public()
  health(): void {}
  undeclared(): void {}
}

function context(handler: keyof Routes, request: Partial<RequestWithCaller>): ExecutionContext {
  return {
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

function guard(env: Record<string, string>): AuthGuard {
  return new AuthGuard(new Reflector(), loadConfig({ NODE_ENV: 'test', ...env }));
}

describe('AuthGuard', () => {
  const withClients = guard({ BILLING_CLIENTS: `admin:read,charge,credit:${TOKEN}` });

  it('sets request.caller to the authenticated client (what @CurrentCaller() returns)', () => {
    const request: Partial<RequestWithCaller> = { headers: { authorization: `Bearer ${TOKEN}` } };
    expect(withClients.canActivate(context('credit', request))).toBe(true);
    expect(request.caller).toEqual({ name: 'admin' });
  });

  it('refuses a route that declares neither a scope nor @Public(), even to an all-scopes client', () => {
    const request = { headers: { authorization: `Bearer ${TOKEN}` } };
    expect(() => withClients.canActivate(context('undeclared', request))).toThrow(ForbiddenError);
  });

  it('lets anyone reach a @Public() route, and no one else without a token', () => {
    expect(withClients.canActivate(context('health', { headers: {} }))).toBe(true);
    expect(() => withClients.canActivate(context('credit', { headers: {} }))).toThrow(
      UnauthenticatedError,
    );
  });

  it('without clients lets every caller through as anonymous (no caller set)', () => {
    const request: Partial<RequestWithCaller> = { headers: {} };
    expect(guard({}).canActivate(context('credit', request))).toBe(true);
    expect(request.caller).toBeUndefined();
  });
});

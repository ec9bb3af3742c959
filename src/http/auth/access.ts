import { applyDecorators, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { ApiBearerAuth, ApiExtension, DECORATORS } from '@nestjs/swagger';
import type { Scope } from '../../config/clients.js';
import { ApiProblem } from '../api-problems.js';

/** The OpenAPI security scheme: `Authorization: Bearer <token>`. */
export const BEARER_SCHEME = 'bearer';

const ACCESS = Symbol('access');

/** What a route needs: a client holding a scope, or nothing at all. */
export type AccessRule = { scope: Scope } | { public: true };

/**
 * The route needs a client token holding `scope` (`read` for every GET, `charge` for debits and
 * reservations, `credit` for credits). Also documents the bearer requirement and the 401, 403 and
 * 429 answers in OpenAPI. Every route carries this or @Public(); a route with neither is refused.
 */
export function RequiresScope(scope: Scope) {
  return applyDecorators(
    SetMetadata(ACCESS, { scope } satisfies AccessRule),
    ApiBearerAuth(BEARER_SCHEME),
    ApiExtension('x-required-scope', scope),
    ApiProblem(401),
    ApiProblem(403, `FORBIDDEN: the client lacks the \`${scope}\` scope.`),
    ApiProblem(429),
  );
}

/**
 * The route needs no token (health checks); a token sent anyway is not looked at. Documented as
 * `security: []` (no requirement). Not `[{}]` ("anonymous allowed"): Prism's proxy reads that
 * as a requirement and refuses requests that carry an Authorization header.
 */
export function Public() {
  return applyDecorators(
    SetMetadata(ACCESS, { public: true } satisfies AccessRule),
    SetMetadata(DECORATORS.API_SECURITY, []),
  );
}

const rules = new WeakMap<object, AccessRule | null>();

/** The access rule of the route `context` is about (cached per handler: guards run every request). */
export function accessRule(reflector: Reflector, context: ExecutionContext): AccessRule | null {
  const handler = context.getHandler();
  let rule = rules.get(handler);
  if (rule === undefined) {
    rule =
      reflector.getAllAndOverride<AccessRule | undefined>(ACCESS, [handler, context.getClass()]) ??
      null;
    rules.set(handler, rule);
  }
  return rule;
}

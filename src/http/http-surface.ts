import { HttpException, HttpStatus } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { REPLAYED_HEADER } from '../idempotency/answer.js';
import { sendProblem } from './problem-details.filter.js';
import { REQUEST_ID_HEADER } from './request-id.js';

/** A known path asked with a method it does not serve (405): `Allow` lists those it does. */
export class MethodNotAllowedError extends HttpException {
  constructor(
    readonly allow: string[],
    method: string,
    path: string,
  ) {
    super(`${method} is not served on ${path}; allowed: ${allow.join(', ')}.`, 405);
  }
}

/** A Fastify route path as a matcher of concrete paths (`:name` one segment, `*` the rest). */
function matcher(url: string): RegExp {
  const pattern = url
    .split(/(:[A-Za-z0-9_]+|\*)/)
    .map((part) => {
      if (part === '*') return '.*';
      if (part.startsWith(':')) return '[^/]+';
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${pattern}$`);
}

/**
 * 405 instead of 404 when the path exists with other methods. Routes are collected as they are
 * registered (call this before any route is). OPTIONS is left to CORS (or to the 404).
 */
export function answerWrongMethods(fastify: FastifyInstance): void {
  const routes: { matches: RegExp; methods: Set<string> }[] = [];
  fastify.addHook('onRoute', (route) => {
    const methods = [route.method].flat().map((m) => m.toUpperCase());
    if (methods.includes('GET')) methods.push('HEAD');
    routes.push({ matches: matcher(route.url ?? route.path), methods: new Set(methods) });
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!request.is404 || request.method === 'OPTIONS') return done();
    const path = request.url.split('?')[0];
    const allow = new Set<string>();
    for (const route of routes) {
      if (route.matches.test(path)) for (const m of route.methods) allow.add(m);
    }
    allow.delete('OPTIONS');
    if (allow.size === 0) return done();
    void reply.header('allow', [...allow].sort().join(', '));
    sendProblem(new MethodNotAllowedError([...allow].sort(), request.method, path), request, reply);
  });
}

/** `GET /` and `GET /billing` lead a person (or a browser) to the API's documentation. */
export function redirectToDocs(fastify: FastifyInstance, docs: string): void {
  for (const path of ['/', '/billing']) {
    fastify.get(path, (_request, reply) => reply.redirect(docs, HttpStatus.FOUND));
  }
}

/**
 * CORS for a browser dashboard on the configured origins: a preflight may ask for the bearer token
 * and an Idempotency-Key, and a script may read the headers that page (Link), pace (Retry-After),
 * mark a replay and trace a request, on every answer, problem answers included.
 */
export function corsOptions(
  origins: string[],
): NonNullable<Parameters<NestFastifyApplication['enableCors']>[0]> {
  return {
    origin: origins,
    methods: ['GET', 'HEAD', 'POST'],
    allowedHeaders: ['authorization', 'content-type', 'idempotency-key', REQUEST_ID_HEADER],
    exposedHeaders: ['link', 'retry-after', REPLAYED_HEADER, REQUEST_ID_HEADER, 'www-authenticate'],
    maxAge: 600,
  };
}

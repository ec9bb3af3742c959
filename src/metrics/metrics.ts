import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RequestWithProblem } from '../http/problem-details.filter.js';
import { Sql } from '../database/sql.js';
import { REPLAYED_HEADER } from '../idempotency/answer.js';

/** Money routes whose outcomes are counted; later money routes (reservations) add a line here. */
const MONEY_ROUTES: Record<
  string,
  { counter: 'charges' | 'credits'; tokens?: 'charged' | 'credited' }
> = {
  'POST /billing/charge-tokens': { counter: 'charges', tokens: 'charged' },
  'POST /billing/credit-tokens': { counter: 'credits', tokens: 'credited' },
};

/** Reservation routes, counted by operation and result (the captured amount is not in the
 *  request, so captures are not in billing_tokens_total). */
const RESERVATION_ROUTES: Record<string, string> = {
  'POST /billing/reservations': 'hold',
  'POST /billing/reservations/:id/capture': 'capture',
  'POST /billing/reservations/:id/release': 'release',
};

/** Outcome labels: `success`, or the problem code in lower case, shortened for the usual ones. */
const RESULTS: Record<string, string> = {
  INSUFFICIENT_BALANCE: 'insufficient',
  ACCOUNT_NOT_FOUND: 'not_found',
  DATABASE_UNAVAILABLE: 'unavailable',
  VALIDATION_FAILED: 'invalid',
};

/** An answer replayed for a retried Idempotency-Key (see idempotency/answer.ts): the effect was
 *  counted when it happened, so it is counted again only as `replayed`. */
function replayed(reply: FastifyReply): boolean {
  return reply.getHeader(REPLAYED_HEADER) === 'true';
}

function resultOf(request: FastifyRequest, reply: FastifyReply, status: number): string {
  if (replayed(reply)) return 'replayed';
  if (status < 400) return 'success';
  const code = (request as RequestWithProblem).problemCode ?? `HTTP_${status}`;
  return RESULTS[code] ?? code.toLowerCase();
}

function amountOf(request: FastifyRequest): number {
  const amount = (request.body as { amount?: unknown } | undefined)?.amount;
  return typeof amount === 'number' && Number.isSafeInteger(amount) ? amount : 0;
}

/**
 * Prometheus metrics, one registry per application (served at GET /metrics). Recorded from one
 * `onResponse` hook, so the request path pays one histogram observation and, on money routes, one
 * or two counter increments. Labels are bounded: route patterns (not URLs), status codes, results.
 */
export type BatchKeyOutcome = 'claimed' | 'taken' | 'in_flight' | 'repeated';

@Injectable()
export class Metrics {
  readonly registry = new Registry();
  private readonly duration: Histogram<'method' | 'route' | 'status'>;
  private readonly outcomes: Record<'charges' | 'credits', Counter<'result'>>;
  private readonly tokens: Counter<'direction'>;
  private readonly reservations: Counter<'operation' | 'result'>;
  private readonly batchSize: Histogram;
  private readonly batchKeys: Counter<'outcome'>;

  constructor(sql: Sql) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.duration = new Histogram({
      name: 'billing_http_request_duration_seconds',
      help: 'HTTP request latency by route pattern, method and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.outcomes = {
      charges: new Counter({
        name: 'billing_charges_total',
        help: 'charge-tokens requests by result (success, insufficient, not_found, …)',
        labelNames: ['result'],
        registers,
      }),
      credits: new Counter({
        name: 'billing_credits_total',
        help: 'credit-tokens requests by result (success, balance_limit, …)',
        labelNames: ['result'],
        registers,
      }),
    };
    this.tokens = new Counter({
      name: 'billing_tokens_total',
      help: 'Tokens moved by acknowledged requests: direction charged or credited',
      labelNames: ['direction'],
      registers,
    });
    this.reservations = new Counter({
      name: 'billing_reservations_total',
      help: 'Reservation requests by operation (hold, capture, release) and result',
      labelNames: ['operation', 'result'],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'billing_charge_batch_size',
      help: 'Charges sent together by one group-commit batch statement',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers,
    });
    this.batchKeys = new Counter({
      name: 'billing_charge_batch_keys_total',
      help:
        'Idempotency-Keys of batched charges by outcome: claimed in the batch, or left to the ' +
        'single path (taken, in_flight elsewhere, repeated within the batch)',
      labelNames: ['outcome'],
      registers,
    });
    new Gauge({
      name: 'billing_db_pool_connections',
      help: 'Database pool connections by state (in_use, idle)',
      labelNames: ['state'],
      registers,
      collect() {
        const usage = sql.poolUsage();
        this.set({ state: 'in_use' }, usage.inUse);
        this.set({ state: 'idle' }, usage.idle);
      },
    });
    new Gauge({
      name: 'billing_db_pool_waiting',
      help: 'Requests waiting for a database pool connection',
      registers,
      collect() {
        this.set(sql.poolUsage().waiting);
      },
    });
  }

  /** Records a group-commit batch: its size and what became of its keys. */
  observeBatch(size: number, keys: Record<BatchKeyOutcome, number>): void {
    this.batchSize.observe(size);
    for (const [outcome, count] of Object.entries(keys)) {
      if (count > 0) this.batchKeys.inc({ outcome }, count);
    }
  }

  /** Records a finished request. */
  observe(request: FastifyRequest, reply: FastifyReply, route: string): void {
    const status = reply.statusCode;
    this.duration.observe(
      { method: request.method, route, status: String(status) },
      reply.elapsedTime / 1000,
    );
    const key = `${request.method} ${route}`;
    const operation = RESERVATION_ROUTES[key];
    if (operation !== undefined) {
      this.reservations.inc({ operation, result: resultOf(request, reply, status) });
      return;
    }
    const money = MONEY_ROUTES[key];
    if (money === undefined) return;
    this.outcomes[money.counter].inc({ result: resultOf(request, reply, status) });
    if (status < 400 && money.tokens !== undefined && !replayed(reply)) {
      this.tokens.inc({ direction: money.tokens }, amountOf(request));
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

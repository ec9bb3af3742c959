import { randomUUID } from 'node:crypto';
import { BANK_AUTH, type Service, sleep } from './cluster.js';

/** Jepsen's bank workload, adapted: random money movements, every outcome recorded. */
export type Kind = 'credit' | 'charge' | 'hold' | 'capture' | 'release';
export type Outcome = 'ok' | 'refused' | 'unknown';

export interface Op {
  id: number;
  kind: Kind;
  /** Idempotency key and ledger reference at once: one per operation, reused by its retries. */
  key: string;
  userId: string;
  path: string;
  body: Record<string, unknown>;
  outcome: Outcome | 'pending';
  /** Had an unknown outcome at some point (then settled by retrying with its key). */
  wasUnknown: boolean;
  attempts: number;
  /** A request for it is in flight (retries of one op never overlap). */
  inFlight: boolean;
  answer?: Record<string, unknown>;
  /** For capture and release: the hold. */
  hold?: Hold;
}

export interface Hold {
  id: string;
  userId: string;
  amount: number;
}

export interface Stats {
  requests: number;
  byStatus: Map<number | string, number>;
  unavailable: number;
  maxLatencyMs: number;
  balanceReads: number;
  violations: string[];
}

const PROBLEM = /^application\/problem\+json/;

export function random(n: number): number {
  return Math.floor(Math.random() * n);
}

export class Workload {
  readonly ops: Op[] = [];
  readonly open: Hold[] = [];
  readonly retryQueue: Op[] = [];
  readonly stats: Stats = {
    requests: 0,
    byStatus: new Map(),
    unavailable: 0,
    maxLatencyMs: 0,
    balanceReads: 0,
    violations: [],
  };

  constructor(
    readonly users: string[],
    private readonly services: Service[],
    /** Answers slower than this (the service's request timeout plus slack) count as hangs. */
    private readonly hangMs: number,
  ) {}

  private service(): Service {
    return this.services[random(this.services.length)];
  }

  private count(key: number | string): void {
    this.stats.byStatus.set(key, (this.stats.byStatus.get(key) ?? 0) + 1);
  }

  /** One HTTP request; `clientTimeoutMs` simulates a caller that gives up (an unknown outcome). */
  async request(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    key: string | undefined,
    clientTimeoutMs: number,
  ): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
    const started = Date.now();
    this.stats.requests += 1;
    try {
      const headers: Record<string, string> = { ...BANK_AUTH };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (key !== undefined) headers['idempotency-key'] = key;
      const response = await fetch(`${this.service().base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(clientTimeoutMs),
      });
      const text = await response.text();
      const ms = Date.now() - started;
      this.stats.maxLatencyMs = Math.max(this.stats.maxLatencyMs, ms);
      if (ms > this.hangMs) this.stats.violations.push(`${method} ${path} answered after ${ms} ms`);
      this.count(response.status);
      const parsed = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
      if (response.status === 503) {
        this.stats.unavailable += 1;
        const type = response.headers.get('content-type') ?? '';
        if (!PROBLEM.test(type) || parsed.code !== 'DATABASE_UNAVAILABLE') {
          this.stats.violations.push(`503 without DATABASE_UNAVAILABLE problem: ${text}`);
        }
      }
      if (response.status >= 500 && response.status !== 503) {
        this.stats.violations.push(`${method} ${path}: ${response.status} ${text}`);
      }
      return { status: response.status, body: parsed };
    } catch (error) {
      // Not `instanceof Error`: fetch's DOMException comes from another realm under jest.
      const name = (error as { name?: string }).name ?? 'error';
      const code = (error as { cause?: { code?: string } }).cause?.code ?? name;
      this.count(name === 'TimeoutError' ? 'client gave up (timeout)' : `network error ${code}`);
      const ms = Date.now() - started;
      if (name !== 'TimeoutError' && ms > this.hangMs) {
        this.stats.violations.push(`${method} ${path} failed after ${ms} ms`);
      }
      return undefined;
    }
  }

  /** Sends (or re-sends, with the same key and body) a money operation and records its outcome. */
  async perform(op: Op, clientTimeoutMs: number): Promise<void> {
    if (op.inFlight) return;
    op.inFlight = true;
    op.attempts += 1;
    const answer = await this.request('POST', op.path, op.body, op.key, clientTimeoutMs);
    op.inFlight = false;
    const outcome = classify(op, answer, this.stats.violations);
    if (outcome === 'unknown') {
      op.wasUnknown = true;
      if (op.outcome !== 'unknown') this.retryQueue.push(op);
      op.outcome = 'unknown';
      // A caller backs off a little before its next request.
      await sleep(20 + random(80));
      return;
    }
    if (op.outcome === 'unknown') this.retryQueue.splice(this.retryQueue.indexOf(op), 1);
    op.outcome = outcome;
    op.answer = answer?.body;
    if (op.kind === 'hold' && outcome === 'ok') {
      this.open.push({
        id: String(answer?.body.id),
        userId: op.userId,
        amount: Number(op.body.amount),
      });
    }
    for (const value of [answer?.body.balance, answer?.body.available]) {
      if (typeof value === 'number' && value < 0) {
        this.stats.violations.push(`negative balance in answer to ${op.kind}: ${value}`);
      }
    }
  }

  newOp(kind: Kind, userId: string, path: string, body: Record<string, unknown>, hold?: Hold): Op {
    const key = `bank-${this.ops.length}-${randomUUID().slice(0, 8)}`;
    const op: Op = {
      id: this.ops.length,
      kind,
      key,
      userId,
      path,
      body: { ...body, reference: key },
      outcome: 'pending',
      wasUnknown: false,
      attempts: 0,
      inFlight: false,
      hold,
    };
    this.ops.push(op);
    return op;
  }

  /** A random operation: mostly money movements, some balance reads, some retries. */
  async step(): Promise<void> {
    const roll = random(100);
    // A caller that gives up early now and then: the outcome is unknown until the retry.
    const clientTimeoutMs = random(10) === 0 ? 1 + random(8) : 15_000;
    if (roll < 25 && this.retryQueue.length > 0) {
      await this.perform(this.retryQueue[random(this.retryQueue.length)], 15_000);
      return;
    }
    const userId = this.users[random(this.users.length)];
    if (roll < 32) return this.readBalance(userId);
    if (roll < 45) {
      const body = { user_id: userId, amount: 1 + random(60), description: 'bank credit' };
      return this.perform(this.newOp('credit', userId, '/credit-tokens', body), clientTimeoutMs);
    }
    if (roll < 62) {
      const body = { user_id: userId, amount: 1 + random(40), description: 'bank charge' };
      return this.perform(this.newOp('charge', userId, '/charge-tokens', body), clientTimeoutMs);
    }
    if (roll < 80 || this.open.length === 0) {
      const body = {
        user_id: userId,
        amount: 1 + random(50),
        description: 'bank hold',
        ttl_seconds: 1 + random(4),
      };
      return this.perform(this.newOp('hold', userId, '/reservations', body), clientTimeoutMs);
    }
    const hold = this.open.splice(random(this.open.length), 1)[0];
    if (roll < 94) {
      const body: Record<string, unknown> = {};
      const shape = random(3);
      if (shape === 1) body.amount = 1 + random(hold.amount);
      if (shape === 2)
        Object.assign(body, { amount: hold.amount + 1 + random(20), allow_overage: true });
      const op = this.newOp('capture', hold.userId, `/reservations/${hold.id}/capture`, body, hold);
      return this.perform(op, clientTimeoutMs);
    }
    const op = this.newOp('release', hold.userId, `/reservations/${hold.id}/release`, {}, hold);
    delete op.body.reference; // release takes no input
    return this.perform(op, clientTimeoutMs);
  }

  async readBalance(userId: string): Promise<void> {
    const answer = await this.request('GET', `/balance/${userId}`, undefined, undefined, 15_000);
    if (answer?.status !== 200) return;
    this.stats.balanceReads += 1;
    const { balance, reserved, available } = answer.body as Record<string, number>;
    if (balance < 0 || reserved < 0 || available < 0 || available !== balance - reserved) {
      this.stats.violations.push(`balance read ${JSON.stringify(answer.body)}`);
    }
  }

  /** Retries every unknown operation with its key until each has a definite answer. */
  async settle(rounds: number): Promise<number> {
    for (let round = 0; round < rounds && this.retryQueue.length > 0; round += 1) {
      const queue = [...this.retryQueue];
      const worker = async () => {
        for (let op = queue.shift(); op !== undefined; op = queue.shift()) {
          await this.perform(op, 15_000);
        }
      };
      await Promise.all(Array.from({ length: 12 }, worker));
      if (this.retryQueue.length > 0) await sleep(500);
    }
    return this.retryQueue.length;
  }
}

/** ok (2xx), refused (a refusal the operation decided), or unknown (no definite answer). */
function classify(
  op: Op,
  answer: { status: number; body: Record<string, unknown> } | undefined,
  violations: string[],
): Outcome {
  if (answer === undefined) return 'unknown';
  const { status, body } = answer;
  if (status >= 200 && status < 300) return 'ok';
  if (status === 503) return 'unknown';
  if (status === 409 && body.code === 'IDEMPOTENCY_KEY_IN_USE') return 'unknown';
  if ([402, 404, 409, 422].includes(status) && body.code !== 'IDEMPOTENCY_KEY_REUSED') {
    return 'refused';
  }
  violations.push(`${op.kind} ${op.path}: unexpected ${status} ${JSON.stringify(body)}`);
  return 'unknown';
}

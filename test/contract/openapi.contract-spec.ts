import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testClient } from '../support/clients.js';
import { type Prism, startPrism } from '../support/prism.js';
import { type ServiceProcess, startService } from '../support/service-process.js';

/**
 * The document is the contract: the built service runs behind Prism's validation proxy and every
 * operation of openapi.json is driven through it, success and error cases. Requests the document
 * allows go through `prism proxy --errors`, which turns any answer that breaks the document into a
 * 500; requests that break the document on purpose (a bad UUID, a string amount, a text body) go
 * through a second proxy without --errors, which forwards them and reports in `sl-violations` what
 * it found: a response-side violation fails the test. Every documented status of every operation
 * must be produced, except those listed in NOT_DRIVEN. `npm run test:contract`.
 */
interface OpenApiOperation {
  operationId: string;
  parameters?: { name: string; in: string; schema?: { format?: string } }[];
  requestBody?: unknown;
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
  security?: unknown[];
}
interface Operation extends OpenApiOperation {
  method: 'GET' | 'POST';
  path: string;
}

const document = JSON.parse(readFileSync('openapi.json', 'utf8')) as {
  paths: Record<string, Record<string, OpenApiOperation>>;
};
const operations: Operation[] = Object.entries(document.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, op]) => ({
    ...op,
    method: method.toUpperCase() as 'GET' | 'POST',
    path,
  })),
);

/** Documented answers this run cannot produce, and why. */
const NOT_DRIVEN: Record<string, string> = {
  '503': 'needs the database to fail under the running service',
  '429': 'rate limiting is off unless configured',
};

type Auth = 'full' | 'none' | 'wrong' | 'reader' | 'minter';
interface Case {
  name: string;
  operationId: string;
  path: string;
  body?: unknown;
  /** A body sent as is, with this content type. */
  raw?: { text: string; contentType: string };
  auth?: Auth;
  /** The request breaks the document on purpose (sent through the proxy without --errors). */
  outside?: boolean;
  /** Prism cannot proxy this request (malformed JSON, a malformed % escape: it answers itself or
   *  drops the connection): sent straight to the service, the answer checked against the
   *  documented schema here. */
  direct?: boolean;
  expect: number[];
  code?: string;
}

const seeded = randomUUID();
const nearLimit = randomUUID();
const MAX = Number.MAX_SAFE_INTEGER;
const movement = (user_id: string, amount: unknown, description: unknown = 'contract test') => ({
  user_id,
  amount,
  description,
});

/** Cases for the operations that take a body: a valid sample first, then the error cases. */
const bodyCases: Record<string, Omit<Case, 'operationId'>[]> = {
  credit: [
    { name: 'credits a user', path: '', body: movement(seeded, 500), expect: [200] },
    {
      name: 'refuses a credit past 2^53-1',
      path: '',
      body: movement(nearLimit, 10),
      expect: [422],
      code: 'BALANCE_LIMIT',
    },
  ],
  charge: [
    { name: 'debits a user', path: '', body: movement(seeded, 30), expect: [200] },
    {
      name: 'refuses a debit beyond the balance',
      path: '',
      body: movement(seeded, MAX),
      expect: [402],
      code: 'INSUFFICIENT_BALANCE',
    },
    {
      name: 'refuses a debit of an unknown account',
      path: '',
      body: movement(randomUUID(), 1),
      expect: [402],
      code: 'ACCOUNT_NOT_FOUND',
    },
    {
      name: 'refuses a NUL character in the description',
      path: '',
      body: movement(seeded, 1, 'a\u0000b'),
      expect: [400],
      code: 'VALIDATION_FAILED',
    },
  ],
};

/** Error cases shared by every operation with a JSON body (the document rules them out). */
function malformedBodies(sample: unknown): Omit<Case, 'operationId' | 'path'>[] {
  const base = sample as Record<string, unknown>;
  return [
    { name: 'a string amount', body: { ...base, amount: '5' }, expect: [400] },
    { name: 'an unknown field', body: { ...base, extra: 1 }, expect: [400] },
    { name: 'a fractional amount', body: { ...base, amount: 1.5 }, expect: [400] },
    { name: 'a user id that is no UUID', body: { ...base, user_id: 'nope' }, expect: [400] },
    {
      name: 'a body that is not JSON',
      raw: { text: 'hi', contentType: 'text/plain' },
      expect: [415],
    },
    {
      name: 'malformed JSON',
      raw: { text: '{"amount":', contentType: 'application/json' },
      direct: true,
      expect: [400],
    },
    {
      name: 'an empty JSON body',
      raw: { text: '', contentType: 'application/json' },
      expect: [400],
    },
    {
      name: 'a body over the size limit',
      body: { ...base, description: 'x'.repeat(64 * 1024) },
      expect: [413],
    },
  ].map((c) => ({ ...c, name: `refuses ${c.name}`, outside: true, code: undefined }));
}

const pathParams = (op: Operation) => (op.parameters ?? []).filter((p) => p.in === 'path');
const withUser = (op: Operation, user: string) => op.path.replace(/\{[^}]+\}/g, user);

function casesFor(op: Operation): Case[] {
  const id = op.operationId;
  const cases: Omit<Case, 'operationId'>[] = [];
  if (op.method === 'POST') {
    const known = bodyCases[id] ?? [];
    cases.push(...known.map((c) => ({ ...c, path: op.path })));
    if (known[0]) {
      cases.push(...malformedBodies(known[0].body).map((c) => ({ ...c, path: op.path })));
    }
  } else if (pathParams(op).length === 0) {
    cases.push({ name: 'answers', path: op.path, expect: [200] });
  } else if (pathParams(op).every((p) => p.schema?.format === 'uuid')) {
    cases.push(
      { name: 'answers for a seeded user', path: withUser(op, seeded), expect: [200] },
      {
        name: 'answers for an unknown user',
        path: withUser(op, randomUUID()),
        expect: [200, 404],
      },
      {
        name: 'accepts an upper-case UUID',
        path: withUser(op, seeded.toUpperCase()),
        expect: [200],
      },
      {
        name: 'refuses a user id that is no UUID',
        path: withUser(op, 'not-a-uuid'),
        outside: true,
        expect: [400],
      },
      {
        name: 'refuses a malformed percent escape in the path',
        path: withUser(op, '%E0%A4%A'),
        direct: true,
        expect: [400],
      },
      {
        name: 'refuses an over-long user id',
        path: withUser(op, 'a'.repeat(101)),
        outside: true,
        expect: [400, 414],
      },
    );
  }
  const sample = cases[0];
  if (sample !== undefined && '401' in op.responses) {
    cases.push(
      {
        ...sample,
        name: 'refuses a request with no token',
        auth: 'none',
        outside: true,
        expect: [401],
      },
      { ...sample, name: 'refuses a wrong token', auth: 'wrong', expect: [401] },
    );
  }
  if (sample !== undefined && '403' in op.responses) {
    // One of the two partial clients lacks this operation's scope.
    const allowed = [...sample.expect, 402, 403, 404, 422];
    cases.push(
      { ...sample, name: 'answers a read-only client', auth: 'reader', expect: allowed },
      { ...sample, name: 'answers a credit-only client', auth: 'minter', expect: allowed },
    );
  }
  return cases.map((c) => ({ ...c, operationId: id }));
}

const cases = operations.flatMap(casesFor);
const seen = new Map<string, Set<string>>(operations.map((op) => [op.operationId, new Set()]));

/**
 * The document with every object schema closed (no property beyond those documented), so that a
 * response carrying an undocumented field breaks the contract too. The published document keeps
 * responses open: clients must tolerate new fields, but this service must not add them silently.
 */
function closed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(closed);
  if (value === null || typeof value !== 'object') return value;
  const object = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, closed(v)]));
  if (object.type === 'object' && 'properties' in object && !('additionalProperties' in object)) {
    object.additionalProperties = false;
  }
  return object;
}

interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
}

/** A small check of a JSON answer against a documented schema (types, required and undocumented
 *  properties), for the answers Prism cannot see. */
function schemaProblems(
  response: { content?: Record<string, { schema?: Schema }> } | undefined,
  contentType: string,
  text: string,
): string[] {
  const schemas = (document as { components?: { schemas?: Record<string, Schema> } }).components
    ?.schemas;
  const resolve = (s: Schema): Schema =>
    s.$ref ? (schemas?.[s.$ref.split('/').pop() ?? ''] ?? {}) : s;
  const check = (value: unknown, schema: Schema, at: string): string[] => {
    const s = resolve(schema);
    if (s.type === 'array') {
      if (!Array.isArray(value)) return [`${at} is not an array`];
      return value.flatMap((v, i) => check(v, s.items ?? {}, `${at}/${i}`));
    }
    if (s.type === 'object' || s.properties) {
      if (value === null || typeof value !== 'object') return [`${at} is not an object`];
      const record = value as Record<string, unknown>;
      return [
        ...(s.required ?? []).filter((k) => !(k in record)).map((k) => `${at}/${k} is missing`),
        ...Object.keys(record)
          .filter((k) => !(k in (s.properties ?? {})))
          .map((k) => `${at}/${k} is not documented`),
        ...Object.entries(record).flatMap(([k, v]) =>
          s.properties?.[k] ? check(v, s.properties[k], `${at}/${k}`) : [],
        ),
      ];
    }
    const actual = Number.isInteger(value) ? 'integer' : typeof value;
    const ok =
      s.type === undefined || s.type === actual || (s.type === 'number' && actual === 'integer');
    return ok ? [] : [`${at} is ${actual}, not ${s.type}`];
  };
  const schema = response?.content?.[contentType]?.schema;
  if (!schema) return [`no schema documented for ${contentType}`];
  return check(JSON.parse(text), schema, '');
}

interface Violation {
  location: string[];
  message: string;
}

describe('the OpenAPI document is the contract (Prism validation proxy)', () => {
  let db: TestDatabase;
  let service: ServiceProcess;
  let strict: Prism;
  let lenient: Prism;
  let folder: string;
  const full = testClient('contract');
  const reader = testClient('reader');
  const minter = testClient('minter');
  const tokens: Record<Auth, Record<string, string>> = {
    full: full.headers,
    none: {},
    wrong: { authorization: `Bearer ${'w'.repeat(40)}` },
    reader: reader.headers,
    minter: minter.headers,
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.pool.query(
      `INSERT INTO accounts (user_id, balance) VALUES ($1, $2)`, // a balance near the cap
      [nearLimit, MAX - 5],
    );
    const clients = [
      `contract:read,charge,credit:${full.token}`,
      `reader:read:${reader.token}`,
      `minter:credit:${minter.token}`,
    ].join(';');
    service = await startService({ env: { DATABASE_URL: db.url, BILLING_CLIENTS: clients } });
    const seed = await fetch(`${service.url}/billing/credit-tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...full.headers },
      body: JSON.stringify(movement(seeded, 1000)),
    });
    expect(seed.status).toBe(200);

    folder = await mkdtemp(path.join(os.tmpdir(), 'billing-contract-'));
    const contract = path.join(folder, 'openapi.closed.json');
    await writeFile(contract, JSON.stringify(closed(document)));
    [strict, lenient] = await Promise.all([
      startPrism(contract, service.url, { errors: true }),
      startPrism(contract, service.url, { errors: false }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([strict?.stop(), lenient?.stop()]);
    if (folder) await rm(folder, { recursive: true, force: true });
    await service?.stop();
    await db?.drop();
  });

  it('has cases for every operation in the document', () => {
    const missing = operations.filter((op) => !cases.some((c) => c.operationId === op.operationId));
    expect(missing.map((op) => `${op.method} ${op.path} (${op.operationId})`)).toEqual([]);
  });

  it.each(cases.map((c) => [`${c.operationId}: ${c.name}`, c] as const))('%s', async (_, c) => {
    const op = operations.find((o) => o.operationId === c.operationId) as Operation;
    const target = c.direct ? service.url : c.outside ? lenient.url : strict.url;
    const headers: Record<string, string> = { ...tokens[c.auth ?? 'full'] };
    let payload: string | undefined;
    if (c.raw) {
      headers['content-type'] = c.raw.contentType;
      payload = c.raw.text;
    } else if (c.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(c.body);
    }
    const response = await fetch(`${target}${c.path}`, {
      method: op.method,
      headers,
      body: payload,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    const violations = JSON.parse(response.headers.get('sl-violations') ?? '[]') as Violation[];
    const contentType = (response.headers.get('content-type') ?? '').split(';')[0];
    const answer = { status: response.status, body: text, violations };

    // Prism's own answers (its problem types) mean the document and the service disagree.
    expect(text).not.toMatch(/stoplight\.io\/prism\/errors/);
    const responseViolations = violations.filter((v) => v.location[0] !== 'request');
    expect(responseViolations).toEqual([]);
    if (c.direct) {
      expect(schemaProblems(op.responses[String(response.status)], contentType, text)).toEqual([]);
    } else if (c.outside) {
      // The case is only meaningful if the document really rules the request out.
      expect(violations.length).toBeGreaterThan(0);
    } else if (!c.outside) {
      expect(violations).toEqual([]);
    }
    expect([answer.status, c.expect.includes(answer.status)]).toEqual([answer.status, true]);
    const documented = op.responses[String(response.status)];
    expect([response.status, documented !== undefined]).toEqual([response.status, true]);
    expect(Object.keys(documented.content ?? {})).toContain(contentType);
    if (c.code !== undefined) expect(JSON.parse(text)).toMatchObject({ code: c.code });
    seen.get(c.operationId)?.add(String(response.status));
  });

  it('produced every documented status of every operation', () => {
    const missing = operations.flatMap((op) =>
      Object.keys(op.responses)
        .filter((status) => !(status in NOT_DRIVEN) && !seen.get(op.operationId)?.has(status))
        .map((status) => `${op.operationId} ${status}`),
    );
    expect(missing).toEqual([]);
  });
});

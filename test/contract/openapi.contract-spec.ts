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
  responses: Record<
    string,
    { content?: Record<string, { schema?: Schema }>; headers?: Record<string, unknown> }
  >;
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
  /** The Idempotency-Key header sent. */
  key?: string;
  /** Sent first with the same key and client, straight to the service: the earlier request this
   *  one replays (the same request) or reuses the key against (another path or body). */
  prior?: { path?: string; body?: unknown };
  /** The key is claimed by the test's own open transaction while the request runs (a first
   *  request with the key still in flight). */
  keyInFlight?: { userId: string };
  /** The answer is a stored one, sent again with `Idempotent-Replayed: true`. */
  replayed?: boolean;
}

const seeded = randomUUID();
const nearLimit = randomUUID();
const MAX = Number.MAX_SAFE_INTEGER;
const movement = (user_id: string, amount: unknown, description: unknown = 'contract test') => ({
  user_id,
  amount,
  description,
});

/** The owner of the reservations below (credited in beforeAll). */
const holder = randomUUID();
/**
 * Reservations of `holder`, one per state or per case that changes one, made through the service
 * in beforeAll: their ids exist only then, so a case path names one as `{reservation:NAME}`
 * (`{RESERVATION:NAME}`: its id in upper case), resolved when the case runs.
 */
const HOLDS = {
  held: 'held', // stays held: every case on it is refused
  captured: 'captured',
  released: 'released',
  expired: 'expired', // expires_at moved into the past in the database
  capture: 'held',
  'capture-whole': 'held',
  'capture-blank': 'held',
  'replay-capture': 'held',
  'reuse-capture': 'held',
  release: 'held',
  'release-empty': 'held',
  'release-blank': 'held',
  'replay-release': 'held',
  'reuse-release': 'held',
  'reuse-release-2': 'held',
} as const;
type Hold = keyof typeof HOLDS;
const HOLD_AMOUNT = 10;
const reservationIds = new Map<string, string>();
const reservation = (name: Hold, action = '') =>
  `/billing/reservations/{reservation:${name}}${action}`;
function resolvePath(template: string): string {
  return template.replace(
    /\{(reservation|RESERVATION):([\w-]+)\}/g,
    (_, kind: string, name: string) => {
      const id = reservationIds.get(name.toLowerCase());
      if (id === undefined) throw new Error(`no reservation ${name} was made`);
      return kind === 'RESERVATION' ? id.toUpperCase() : id;
    },
  );
}
const hold = (amount: unknown, extra: object = {}) => ({
  user_id: holder,
  amount,
  description: 'contract hold',
  ...extra,
});

/** A reservation path whose id is malformed (for the POSTs on one reservation). */
function malformedIds(action: string, body: unknown): Omit<Case, 'operationId'>[] {
  const at = (id: string) => `/billing/reservations/${id}${action}`;
  return [
    {
      name: 'refuses a reservation id that is no UUID',
      path: at('not-a-uuid'),
      body,
      outside: true,
      expect: [400],
    },
    {
      name: 'refuses a malformed percent escape in the path',
      path: at('%E0%A4%A'),
      body,
      direct: true,
      expect: [400],
    },
    {
      name: 'refuses an over-long reservation id',
      path: at('a'.repeat(101)),
      body,
      outside: true,
      expect: [400, 414],
    },
  ];
}

/** Idempotency-Key cases of a money POST: a replay, a key reused, a key still in flight. */
function keyCases(
  what: string,
  path: string,
  body: unknown,
  other: { path?: string; body?: unknown },
  userId: string,
  success: number,
): Omit<Case, 'operationId'>[] {
  const key = (k: string) => `contract-${what.replace(/\W+/g, '-')}-${k}`;
  return [
    {
      name: `replays ${what} sent again with its Idempotency-Key`,
      path,
      body,
      key: key('replay'),
      prior: { body },
      replayed: true,
      expect: [success],
    },
    {
      name: `refuses an Idempotency-Key reused for another request (${what})`,
      path,
      body,
      key: key('reuse'),
      prior: other,
      expect: [422],
      code: 'IDEMPOTENCY_KEY_REUSED',
    },
    {
      name: `answers 409 while ${what} with the same key is in flight`,
      path,
      body,
      key: key('busy'),
      keyInFlight: { userId },
      expect: [409],
      code: 'IDEMPOTENCY_KEY_IN_USE',
    },
  ];
}

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
    ...keyCases('a credit', '', movement(seeded, 7), { body: movement(seeded, 8) }, seeded, 200),
    {
      name: 'credits an expiring grant with a priority',
      path: '',
      body: { ...movement(seeded, 20), expires_at: '2030-01-01T00:00:00+02:00', priority: 10 },
      expect: [200],
    },
    {
      name: 'refuses an expires_at in the past',
      path: '',
      body: { ...movement(seeded, 20), expires_at: '2020-01-01T00:00:00Z' },
      expect: [400],
      code: 'VALIDATION_FAILED',
    },
    {
      name: 'refuses a priority over 100',
      path: '',
      body: { ...movement(seeded, 20), priority: 101 },
      outside: true,
      expect: [400],
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
    ...keyCases('a debit', '', movement(seeded, 3), { body: movement(seeded, 4) }, seeded, 200),
    {
      name: 'replays a refused debit with Idempotent-Replayed',
      path: '',
      body: movement(seeded, MAX),
      key: 'contract-refused-debit',
      prior: { body: movement(seeded, MAX) },
      replayed: true,
      expect: [402],
      code: 'INSUFFICIENT_BALANCE',
    },
  ],
  hold: [
    { name: 'holds tokens', path: '', body: hold(HOLD_AMOUNT), expect: [201] },
    {
      name: 'holds with a reference and a short ttl',
      path: '',
      body: hold(1, { reference: 'run_contract', ttl_seconds: 1 }),
      expect: [201],
    },
    {
      name: 'refuses a hold beyond the available balance',
      path: '',
      body: hold(MAX),
      expect: [402],
      code: 'INSUFFICIENT_BALANCE',
    },
    {
      name: 'refuses a hold on an unknown account',
      path: '',
      body: { ...hold(1), user_id: randomUUID() },
      expect: [402],
      code: 'ACCOUNT_NOT_FOUND',
    },
    {
      name: 'refuses a ttl of 0 seconds',
      path: '',
      body: hold(1, { ttl_seconds: 0 }),
      outside: true,
      expect: [400],
    },
    {
      name: 'refuses a ttl over a day',
      path: '',
      body: hold(1, { ttl_seconds: 86_401 }),
      outside: true,
      expect: [400],
    },
    {
      name: 'refuses a NUL character in the description',
      path: '',
      body: hold(1, { description: 'a\u0000b' }),
      expect: [400],
      code: 'VALIDATION_FAILED',
    },
    ...keyCases('a hold', '', hold(2), { body: hold(3) }, holder, 201),
    {
      name: 'replays a refused hold with Idempotent-Replayed',
      path: '',
      body: hold(MAX),
      key: 'contract-refused-hold',
      prior: { body: hold(MAX) },
      replayed: true,
      expect: [402],
      code: 'INSUFFICIENT_BALANCE',
    },
  ],
  capture: [
    {
      name: 'captures part of a hold',
      path: reservation('capture', '/capture'),
      body: { amount: 4 },
      expect: [200],
    },
    {
      name: 'captures the held amount when no body is sent',
      path: reservation('capture-whole', '/capture'),
      expect: [200],
    },
    {
      name: 'captures the held amount when sent an empty JSON body',
      path: reservation('capture-blank', '/capture'),
      raw: { text: '', contentType: 'application/json' },
      expect: [200],
    },
    {
      name: 'refuses an overage the available balance cannot cover',
      path: reservation('held', '/capture'),
      body: { amount: MAX, allow_overage: true },
      expect: [402],
      code: 'INSUFFICIENT_BALANCE',
    },
    {
      name: 'refuses a capture above the hold without allow_overage',
      path: reservation('held', '/capture'),
      body: { amount: HOLD_AMOUNT + 1 },
      expect: [422],
      code: 'CAPTURE_EXCEEDS_HOLD',
    },
    {
      name: 'refuses an unknown reservation',
      path: `/billing/reservations/${randomUUID()}/capture`,
      body: {},
      expect: [404],
      code: 'RESERVATION_NOT_FOUND',
    },
    {
      name: 'refuses a captured reservation',
      path: reservation('captured', '/capture'),
      body: {},
      expect: [409],
      code: 'RESERVATION_NOT_HELD',
    },
    {
      name: 'refuses a released reservation',
      path: reservation('released', '/capture'),
      expect: [409],
      code: 'RESERVATION_NOT_HELD',
    },
    {
      name: 'refuses an expired reservation',
      path: reservation('expired', '/capture'),
      expect: [409],
      code: 'RESERVATION_EXPIRED',
    },
    {
      name: 'refuses a NUL character in the description',
      path: reservation('held', '/capture'),
      body: { description: 'a\u0000b' },
      expect: [400],
      code: 'VALIDATION_FAILED',
    },
    ...malformedIds('/capture', { amount: 1 }),
    ...keyCases(
      'a capture',
      reservation('replay-capture', '/capture'),
      { amount: 3 },
      { path: reservation('reuse-capture', '/capture'), body: { amount: 1 } },
      holder,
      200,
    ),
    {
      name: 'replays a refused capture with Idempotent-Replayed',
      path: reservation('captured', '/capture'),
      key: 'contract-refused-capture',
      prior: {},
      replayed: true,
      expect: [409],
      code: 'RESERVATION_NOT_HELD',
    },
  ],
  release: [
    { name: 'releases a hold', path: reservation('release', '/release'), expect: [200] },
    {
      name: 'releases a hold when sent an empty JSON object',
      path: reservation('release-empty', '/release'),
      body: {},
      expect: [200],
    },
    {
      name: 'releases a hold when sent an empty JSON body',
      path: reservation('release-blank', '/release'),
      raw: { text: '', contentType: 'application/json' },
      expect: [200],
    },
    {
      name: 'refuses an unknown reservation',
      path: `/billing/reservations/${randomUUID()}/release`,
      expect: [404],
      code: 'RESERVATION_NOT_FOUND',
    },
    {
      name: 'refuses a captured reservation',
      path: reservation('captured', '/release'),
      expect: [409],
      code: 'RESERVATION_NOT_HELD',
    },
    {
      name: 'refuses a released reservation',
      path: reservation('released', '/release'),
      expect: [409],
      code: 'RESERVATION_NOT_HELD',
    },
    {
      name: 'refuses an expired reservation',
      path: reservation('expired', '/release'),
      expect: [409],
      code: 'RESERVATION_EXPIRED',
    },
    ...malformedIds('/release', undefined),
    ...keyCases(
      'a release',
      reservation('replay-release', '/release'),
      undefined,
      { path: reservation('reuse-release', '/release') },
      holder,
      200,
    ),
  ],
};

/** Cases of operations without a body, beyond the generated ones. */
const moreCases: Record<string, Omit<Case, 'operationId'>[]> = {
  balance: [
    {
      name: 'answers next_expiry null for a user without an expiring grant',
      path: `/billing/balance/${holder}`,
      expect: [200],
    },
  ],
  grants: [
    {
      name: 'answers one page with a Link to the next',
      path: `/billing/grants/${seeded}?limit=1`,
      expect: [200],
    },
    {
      name: 'refuses a cursor it did not give',
      path: `/billing/grants/${seeded}?cursor=bogus`,
      expect: [400],
      code: 'VALIDATION_FAILED',
    },
  ],
  history: [
    {
      name: 'answers the expiry entries only',
      path: `/billing/transactions/${seeded}?type=expiry&limit=10`,
      expect: [200],
    },
  ],
  find: [
    {
      name: 'refuses an unknown reservation',
      path: `/billing/reservations/${randomUUID()}`,
      expect: [404],
      code: 'RESERVATION_NOT_FOUND',
    },
    { name: 'answers for a captured reservation', path: reservation('captured'), expect: [200] },
    { name: 'answers for an expired reservation', path: reservation('expired'), expect: [200] },
  ],
  live: [
    { name: 'answers without a token', path: '/billing/health/live', auth: 'none', expect: [200] },
    { name: 'ignores a wrong token', path: '/billing/health/live', auth: 'wrong', expect: [200] },
  ],
  ready: [
    { name: 'answers without a token', path: '/billing/health/ready', auth: 'none', expect: [200] },
    { name: 'ignores a wrong token', path: '/billing/health/ready', auth: 'wrong', expect: [200] },
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

/** Response headers that are part of the API (not of HTTP): documented wherever they are sent. */
const API_HEADERS = ['idempotent-replayed', 'retry-after', 'www-authenticate'];

const pathParams = (op: Operation) => (op.parameters ?? []).filter((p) => p.in === 'path');
const withUser = (op: Operation, user: string) => op.path.replace(/\{[^}]+\}/g, user);
/** The id a GET answers 200 for: the seeded user, or a reservation that exists. */
const knownId = (op: Operation) =>
  op.path.includes('{user_id}') ? seeded : `{reservation:${'held' satisfies Hold}}`;

function casesFor(op: Operation): Case[] {
  const id = op.operationId;
  const cases: Omit<Case, 'operationId'>[] = [];
  if (op.method === 'POST') {
    const known = bodyCases[id] ?? [];
    cases.push(...known.map((c) => ({ ...c, path: c.path || op.path })));
    if (known[0]) {
      const path = known[0].path || op.path;
      // An empty JSON body is no body: an error only where the document requires a body
      // (capture and release take none; their tables have the empty body as a success).
      const required = (op.requestBody as { required?: boolean } | undefined)?.required === true;
      const malformed = malformedBodies(known[0].body).filter(
        (c) => required || c.raw?.text !== '',
      );
      cases.push(...malformed.map((c) => ({ ...c, path })));
    }
  } else if (pathParams(op).length === 0) {
    cases.push({ name: 'answers', path: op.path, expect: [200] });
  } else if (pathParams(op).every((p) => p.schema?.format === 'uuid')) {
    cases.push(
      { name: 'answers for a seeded user', path: withUser(op, knownId(op)), expect: [200] },
      {
        name: 'answers for an unknown user',
        path: withUser(op, randomUUID()),
        expect: [200, 404],
      },
      {
        name: 'accepts an upper-case UUID',
        path: withUser(op, knownId(op).toUpperCase()),
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
  cases.push(...(moreCases[id] ?? []));
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
    // An expiring grant, so that the balance's next_expiry is an object (null for `holder`).
    const expiring = await fetch(`${service.url}/billing/credit-tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...full.headers },
      body: JSON.stringify({ ...movement(seeded, 100), expires_at: '2030-06-01T00:00:00Z' }),
    });
    expect(expiring.status).toBe(200);
    await makeReservations();

    folder = await mkdtemp(path.join(os.tmpdir(), 'billing-contract-'));
    const contract = path.join(folder, 'openapi.closed.json');
    await writeFile(contract, JSON.stringify(closed(document)));
    [strict, lenient] = await Promise.all([
      startPrism(contract, service.url, { errors: true }),
      startPrism(contract, service.url, { errors: false }),
    ]);
  }, 120_000);

  /** `holder`'s account and the reservations of HOLDS, each left in its state. */
  async function makeReservations(): Promise<void> {
    const send = async (path: string, body?: unknown) => {
      const response = await fetch(`${service.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...full.headers },
        body: JSON.stringify(body ?? {}),
      });
      return { status: response.status, body: (await response.json()) as { id: string } };
    };
    const credit = await send('/billing/credit-tokens', movement(holder, 1000));
    expect(credit.status).toBe(200);
    for (const [name, state] of Object.entries(HOLDS)) {
      const made = await send('/billing/reservations', {
        ...hold(HOLD_AMOUNT),
        description: `contract fixture ${name}`,
      });
      expect(made.status).toBe(201);
      const id = made.body.id;
      reservationIds.set(name, id);
      if (state === 'captured') {
        expect((await send(`/billing/reservations/${id}/capture`)).status).toBe(200);
      } else if (state === 'released') {
        expect((await send(`/billing/reservations/${id}/release`)).status).toBe(200);
      } else if (state === 'expired') {
        await db.pool.query(
          `UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = $1`,
          [id],
        );
      }
    }
  }

  /** Claims `key` for the contract client in a transaction left open: a request in flight. */
  async function claimKey(userId: string, key: string): Promise<() => Promise<void>> {
    const client = await db.pool.connect();
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO idempotency_keys (user_id, client, key, request_hash) VALUES ($1, $2, $3, $4)`,
      [userId, full.name, key, 'in flight'],
    );
    return async () => {
      await client.query('ROLLBACK');
      client.release();
    };
  }

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
    if (c.key !== undefined) headers['idempotency-key'] = c.key;
    const url = resolvePath(c.path);
    if (c.prior) {
      const body = c.prior.body;
      const first = await fetch(`${service.url}${resolvePath(c.prior.path ?? c.path)}`, {
        method: op.method,
        headers: {
          ...tokens.full,
          'idempotency-key': c.key ?? '',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      await first.text();
      expect(first.status).toBeLessThan(500);
    }
    let payload: string | undefined;
    if (c.raw) {
      headers['content-type'] = c.raw.contentType;
      payload = c.raw.text;
    } else if (c.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(c.body);
    }
    const release = c.keyInFlight ? await claimKey(c.keyInFlight.userId, c.key ?? '') : undefined;
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${target}${url}`, {
        method: op.method,
        headers,
        body: payload,
        signal: AbortSignal.timeout(15_000),
      });
      text = await response.text();
    } finally {
      await release?.();
    }
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
    expect(response.headers.get('idempotent-replayed')).toBe(c.replayed ? 'true' : null);
    // Prism lets through headers the document does not name: the API's own must be named.
    const named = Object.keys(documented.headers ?? {}).map((h) => h.toLowerCase());
    const sent = API_HEADERS.filter((h) => response.headers.has(h));
    expect(sent.filter((h) => !named.includes(h))).toEqual([]);
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

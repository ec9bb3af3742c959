import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { useTestApp } from './support/fixture.js';
import { testClient } from './support/clients.js';
import { PROTOTYPE_NAMES } from './support/prototype-names.js';

/**
 * Property-based fuzz of every operation in the generated OpenAPI document (read from the running
 * app, so a route is covered the day it is added). Each generated request is either invalid by
 * construction (one documented rule broken, aimed at a seeded user and hold) or a valid request
 * with odd but legal content, aimed at another user. For every answer: no 5xx, and a problem body
 * (RFC 9457) whose status is the HTTP status, with no stack, SQL or file path in it. For the
 * invalid ones: no 2xx, and the seeded user's balance, ledger, holds, keys and rollups unchanged.
 *
 * Seeded: FUZZ_SEED replays a run (the seed, path and shrunk counter-example are printed on
 * failure); FUZZ_SEED=random explores; FUZZ_RUNS sets the number of requests (2000), stopped
 * early after FUZZ_TIME_LIMIT_MS (30 s) on a loaded machine.
 */

interface Schema {
  type?: string;
  format?: string;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxProperties?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  $ref?: string;
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Schema;
}
interface Operation {
  method: 'GET' | 'POST';
  path: string;
  parameters: Parameter[];
  body?: { required: boolean; schema: Schema };
  secured: boolean;
}
interface FuzzRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string | string[]>;
  payload?: string;
  /** Why the request is invalid by construction; undefined for a valid request. */
  invalid?: string;
}

const SEED = process.env.FUZZ_SEED === 'random' ? Date.now() : Number(process.env.FUZZ_SEED ?? 9);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
/** The run stops (passing) after this long, so a loaded machine makes it shorter, not red. */
const TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_LIMIT_MS ?? 30_000);

describe('fuzz: every documented operation', () => {
  const caller = testClient('fuzz');
  const f = useTestApp(caller.env);
  let operations: Operation[] = [];
  /** The seeded user and hold that invalid requests aim at (nothing may change them). */
  const target = { user: randomUUID(), reservation: '' };
  /** The user (and hold) that valid requests aim at. */
  const other = { user: randomUUID(), reservation: '' };

  beforeAll(async () => {
    const auth = caller.headers;
    for (const who of [target, other]) {
      const credit = await f.api.post(
        '/billing/credit-tokens',
        { user_id: who.user, amount: 1_000_000_000, description: 'seed' },
        auth,
      );
      expect(credit.status).toBe(200);
      const hold = await f.api.post<{ id: string }>(
        '/billing/reservations',
        { user_id: who.user, amount: 1000, description: 'seed', ttl_seconds: 86_400 },
        auth,
      );
      expect(hold.status).toBe(201);
      who.reservation = hold.body.id;
    }
    const document = (await f.api.get('/billing/docs-json')).body as unknown as OpenApi;
    operations = operationsOf(document);
  });

  async function snapshot(): Promise<unknown> {
    const { rows } = await f.db.pool.query(
      `SELECT (SELECT balance FROM accounts WHERE user_id = $1) AS balance,
              (SELECT count(*) FROM ledger_entries WHERE user_id = $1) AS entries,
              (SELECT string_agg(id || ':' || status || ':' || amount, ',' ORDER BY id)
                 FROM reservations WHERE user_id = $1) AS holds,
              (SELECT count(*) FROM idempotency_keys WHERE user_id = $1) AS keys,
              (SELECT string_agg(month || ':' || tokens_consumed || ':' || consultations_count, ',')
                 FROM monthly_usage WHERE user_id = $1) AS usage`,
      [target.user],
    );
    return rows[0];
  }

  it('answers every generated request without a 5xx, with honest problems, changing nothing when invalid', async () => {
    expect(operations.length).toBeGreaterThanOrEqual(11);
    const fastify = f.app.getHttpAdapter().getInstance();
    const arbitrary = fc
      .constantFrom(...operations)
      .chain((op) => requestFor(op, { target, other, auth: caller.headers.authorization }));
    await fc.assert(
      fc.asyncProperty(arbitrary, async (request) => {
        const before = request.invalid === undefined ? undefined : await snapshot();
        const answer = await fastify.inject({
          method: request.method,
          url: request.url,
          headers: request.headers,
          ...(request.payload === undefined ? {} : { payload: request.payload }),
        });
        const status = answer.statusCode;
        if (status >= 500) throw new Error(`answered ${status}: ${answer.body}`);
        if (status >= 400) {
          expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
          const body = JSON.parse(answer.body) as Record<string, unknown>;
          expect(body).toMatchObject({
            type: expect.stringMatching(/^urn:billing-service:problem:/),
            title: expect.any(String),
            status,
            detail: expect.any(String),
            code: expect.stringMatching(/^[A-Z_]+$/),
          });
          expect(answer.body).not.toMatch(
            /\bat .+:\d+:\d+|node_modules|\/work\/|\/src\/|\.[jt]s:\d/,
          );
          expect(answer.body).not.toMatch(/\b(SELECT|INSERT|UPDATE|DELETE) |ledger_entries|pg_/);
        }
        if (request.invalid !== undefined) {
          if (status < 400) throw new Error(`invalid (${request.invalid}) but answered ${status}`);
          expect(await snapshot()).toEqual(before);
        }
      }),
      {
        seed: SEED,
        numRuns: RUNS,
        interruptAfterTimeLimit: TIME_LIMIT_MS,
        markInterruptAsFailure: false,
      },
    );
  }, 120_000);
});

// ---- the operations, from the OpenAPI document ----

interface OpenApi {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Parameter[];
        requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
        security?: unknown[];
      }
    >
  >;
  components: { schemas: Record<string, Schema> };
}

function operationsOf(document: OpenApi): Operation[] {
  const resolve = (schema: Schema): Schema =>
    schema.$ref === undefined
      ? schema
      : resolve(document.components.schemas[schema.$ref.replace('#/components/schemas/', '')]);
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const json = op.requestBody?.content['application/json'];
      return {
        method: method.toUpperCase() as 'GET' | 'POST',
        path,
        parameters: (op.parameters ?? []).map((p) => ({ ...p, schema: resolve(p.schema) })),
        body:
          json === undefined
            ? undefined
            : { required: op.requestBody?.required === true, schema: resolve(json.schema) },
        secured: (op.security ?? []).length > 0,
      };
    }),
  );
}

// ---- generators ----

interface Targets {
  target: { user: string; reservation: string };
  other: { user: string; reservation: string };
  auth: string;
}

/** Legal but odd text: any code points except NUL (which the documented rules refuse). */
const oddText = (max: number) =>
  fc
    .string({
      unit: fc.oneof(
        fc.constantFrom('\u200b', '\ufeff', '\u202e', '\t', '\u0001', 'é', '😀', '\ud800'),
        fc.string({ unit: 'binary', maxLength: 1 }),
      ),
      minLength: 1,
      maxLength: Math.max(1, Math.floor(max / 2)),
    })
    .filter((s) => s.length >= 1 && s.length <= max && !s.includes('\u0000'));

/** A valid value for a schema (as JSON text); ids are those of `who`. */
function validValue(
  name: string,
  schema: Schema,
  who: { user: string; reservation: string },
): fc.Arbitrary<string> {
  if (schema.format === 'uuid') {
    const id = name === 'id' ? who.reservation : who.user;
    return fc.constantFrom(id, id.toUpperCase()).map((v) => JSON.stringify(v));
  }
  if (schema.enum !== undefined)
    return fc.constantFrom(...schema.enum).map((v) => JSON.stringify(v));
  switch (schema.type ?? '') {
    case 'integer': {
      const min = schema.minimum ?? 0;
      const max = Math.min(schema.maximum ?? 1000, min + 999);
      return fc.oneof(
        fc.integer({ min, max }).map(String),
        fc.integer({ min: Math.max(min, 1), max: Math.min(max, 9) }).map((n) => `${n}e0`),
        fc.constant(`${min}.0`),
      );
    }
    case 'boolean':
      return fc.boolean().map(String);
    case 'string':
      if (schema.format === 'date-time') {
        return fc
          .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
          .map((d) => JSON.stringify(d.toISOString()));
      }
      if (schema.pattern !== undefined) {
        return fc.stringMatching(new RegExp(schema.pattern)).map((s) => JSON.stringify(s));
      }
      return oddText(Math.min(schema.maxLength ?? 50, 50)).map((s) => JSON.stringify(s));
    default:
      return fc.constant('1');
  }
}

/** JSON texts that break a field's documented rule, whatever the rest of the request is. */
function invalidValues(schema: Schema, required: boolean): string[] {
  const deep = (n: number) => '['.repeat(n) + '1' + ']'.repeat(n);
  const nested = (key: string) => `{"a":[{"${key}":{"x":1}}]}`;
  const common = [
    '{}',
    '[]',
    deep(33),
    deep(3000),
    '{"a":'.repeat(40) + '1' + '}'.repeat(40),
    ...PROTOTYPE_NAMES.slice(0, 3).map(nested),
    `{"$gt":0}`,
  ];
  if (required) common.push('null');
  if (schema.format === 'uuid') {
    return [
      ...common,
      '42',
      'true',
      '"not-a-uuid"',
      '"6f9619ff-8b86-d011-b42d-00c04fc964ff"',
      '""',
      '"00000000-0000-0000-0000-00000000000"',
    ];
  }
  switch (schema.type ?? '') {
    case 'integer': {
      const out = [
        ...common,
        '"10"',
        '1.5',
        'true',
        '"1"',
        '1e400',
        '-1e400',
        `${Number.MAX_SAFE_INTEGER}.5`,
      ];
      if (schema.minimum !== undefined)
        out.push(String(schema.minimum - 1), '-1', schema.minimum >= 1 ? '-0' : '-1');
      if (schema.maximum !== undefined) {
        out.push(`${schema.maximum + 1}`, '9007199254740993', '1e30', '18446744073709551616');
      }
      return out;
    }
    case 'boolean':
      return [...common, '"true"', '1', '0', '"false"'];
    case 'string': {
      const out = [...common, '42', 'true', '"a\\u0000b"'];
      if ((schema.minLength ?? 0) >= 1) out.push('""');
      if (schema.maxLength !== undefined)
        out.push(JSON.stringify('y'.repeat(schema.maxLength + 1)));
      return out;
    }
    default:
      return common;
  }
}

/** Query values that break a parameter's documented rule. */
function invalidQueryValues(schema: Schema): string[] {
  const candidates = [
    '',
    'abc',
    '-1',
    '0',
    '1.5',
    '1e3',
    '１',
    '9007199254740993',
    'yesterday',
    '2026-13',
    '!!',
    "' OR 1=1--",
    'é',
    'x'.repeat(80),
    '[]',
    'null',
  ];
  return candidates.filter((c) => {
    if (schema.enum !== undefined && !schema.enum.includes(c)) return true;
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(c)) return true;
    if (schema.maxLength !== undefined && c.length > schema.maxLength) return true;
    if (schema.format === 'date-time' && !/^\d{4}-\d{2}-\d{2}/.test(c)) return true;
    return false;
  });
}

const INVALID_PATH_IDS = [
  'not-a-uuid',
  '123',
  '%C3%BC',
  '%zz',
  '%00',
  'a'.repeat(101),
  '6f9619ff-8b86-d011-b42d-00c04fc964ff',
  `${randomUUID()}x`,
  'null',
  '%2e%2e',
  '__proto__',
  'constructor',
];
const ODD_CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/jsonp',
  'text/json',
  'application/json-patch+json',
];
const JSON_CONTENT_TYPES = [
  'application/json',
  'Application/JSON',
  'application/json; charset=UTF-8',
  'application/json; boundary=x',
  'application/json;charset=utf-8',
];
const BAD_AUTHORIZATION = [
  'Bearer',
  'Bearer wrong-token',
  'Basic dXNlcjpwYXNz',
  'bearer',
  'Token abc',
  'Bearer \u00e9\u00e9',
];

function requestFor(op: Operation, t: Targets): fc.Arbitrary<FuzzRequest> {
  const valid = buildParts(op, t.other);
  const aimed = buildParts(op, t.target);
  const kinds: fc.Arbitrary<FuzzRequest>[] = [
    // A valid request with odd but legal content: any answer but a 5xx.
    valid.map((parts) => assemble(op, parts, t.auth)),
  ];
  const invalid = invalidMutations(op, t);
  if (invalid.length > 0) {
    kinds.push(
      fc.tuple(aimed, fc.oneof(...invalid)).map(([parts, mutate]) => {
        const request = assemble(op, parts, t.auth);
        return mutate(request, parts);
      }),
    );
  }
  return fc.oneof(...kinds);
}

interface Parts {
  /** Path parameters, URL-encoded. */
  path: Record<string, string>;
  query: Array<[string, string]>;
  body: Array<[string, string]> | undefined;
  idempotencyKey: string | undefined;
  contentType: string;
}

function buildParts(
  op: Operation,
  who: { user: string; reservation: string },
): fc.Arbitrary<Parts> {
  const path = fc.record(
    Object.fromEntries(
      op.parameters
        .filter((p) => p.in === 'path')
        .map((p) => [
          p.name,
          validValue(p.name, p.schema, who).map((v) => encodeURIComponent(JSON.parse(v) as string)),
        ]),
    ),
  );
  const query = fc
    .tuple(
      ...op.parameters
        .filter((p) => p.in === 'query')
        .map((p) =>
          fc.option(
            validValue(p.name, p.schema, who).map((v) => {
              const text =
                p.schema.type === 'integer' ? v.replace(/e0$|\.0$/, '') : (JSON.parse(v) as string);
              return [p.name, text] as [string, string];
            }),
            { nil: undefined },
          ),
        ),
    )
    .map((entries) => entries.filter((e): e is [string, string] => e !== undefined));
  const schema = op.body?.schema;
  const body =
    schema === undefined
      ? fc.constant(undefined)
      : fc
          .tuple(
            ...Object.entries(schema.properties ?? {}).map(([name, s]) => {
              const value = validValue(name, s, who).map((v) => [name, v] as [string, string]);
              return (schema.required ?? []).includes(name)
                ? value
                : fc.option(value, { nil: undefined });
            }),
          )
          .map((fields) => fields.filter((e): e is [string, string] => e !== undefined));
  const idempotencyKey = op.parameters.some(
    (p) => p.in === 'header' && p.name === 'Idempotency-Key',
  )
    ? fc.option(
        fc.string({
          unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
          minLength: 1,
          maxLength: 255,
        }),
        { nil: undefined },
      )
    : fc.constant(undefined);
  return fc.record({
    path,
    query,
    body,
    idempotencyKey,
    contentType: fc.constantFrom(...JSON_CONTENT_TYPES),
  });
}

function objectText(fields: Array<[string, string]>): string {
  return `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}

function assemble(op: Operation, parts: Parts, auth: string): FuzzRequest {
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => parts.path[name]);
  const query = parts.query
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  const headers: Record<string, string | string[]> = {};
  if (op.secured) headers.authorization = auth;
  if (parts.idempotencyKey !== undefined) headers['idempotency-key'] = parts.idempotencyKey;
  const request: FuzzRequest = {
    method: op.method,
    url: query ? `${path}?${query}` : path,
    headers,
  };
  if (parts.body !== undefined) {
    request.payload = objectText(parts.body);
    headers['content-type'] = parts.contentType;
  }
  return request;
}

type Mutation = (request: FuzzRequest, parts: Parts) => FuzzRequest;

function invalidMutations(op: Operation, t: Targets): fc.Arbitrary<Mutation>[] {
  const out: fc.Arbitrary<Mutation>[] = [];
  const withPayload =
    (payload: string, why: string) =>
    (r: FuzzRequest): FuzzRequest => ({
      ...r,
      payload,
      headers: {
        ...r.headers,
        'content-type': r.headers['content-type'] ?? 'application/json',
      },
      invalid: why,
    });
  const schema = op.body?.schema;
  if (schema !== undefined) {
    const fields = Object.entries(schema.properties ?? {});
    const required = schema.required ?? [];
    if (fields.length > 0) {
      // One field given a value its rule refuses (also as a duplicate key whose last value counts).
      out.push(
        fc
          .constantFrom(...fields)
          .chain(([name, s]) =>
            fc.tuple(
              fc.constant(name),
              fc.constantFrom(...invalidValues(s, required.includes(name))),
              fc.boolean(),
            ),
          )
          .map(([name, value, duplicate]) => (r, parts) => {
            const rest = (parts.body ?? []).filter(([k]) => duplicate || k !== name);
            return withPayload(
              objectText([...rest, [name, value]]),
              `${name}=${value.slice(0, 40)}`,
            )(r);
          }),
      );
    }
    for (const name of required) {
      out.push(
        fc.constant<Mutation>((r, parts) =>
          withPayload(
            objectText((parts.body ?? []).filter(([k]) => k !== name)),
            `missing ${name}`,
          )(r),
        ),
      );
    }
    // An undeclared field: prototype names, near-misses of declared names, operators.
    const extraKeys = [
      ...PROTOTYPE_NAMES,
      'currency',
      '$where',
      'AMOUNT',
      'amount ',
      '',
      'user_id\u0000',
      'ttl',
    ].filter((k) => !Object.hasOwn(schema.properties ?? {}, k));
    out.push(
      fc
        .tuple(
          fc.constantFrom(...extraKeys),
          fc.constantFrom('true', '1', '"x"', '{"$gt":0}', 'null', '{}', '[]'),
          fc.nat(),
        )
        .map(([key, value, at]) => (r, parts) => {
          const body = [...(parts.body ?? [])];
          body.splice(at % (body.length + 1), 0, [key, value]);
          return withPayload(objectText(body), `extra ${JSON.stringify(key)}`)(r);
        }),
    );
    // Not a JSON object, or not JSON at all.
    const notObjects = ['[]', 'null', '42', '"x"', 'true', '[{}]', '-0', '1e400'];
    if (op.body?.required) notObjects.push('');
    out.push(
      fc
        .constantFrom(...notObjects)
        .map((payload) => withPayload(payload, `body ${JSON.stringify(payload)}`)),
    );
    out.push(
      // A strict prefix of an object's text is never JSON, nor is it with one of these after it.
      fc.tuple(fc.nat(), fc.constantFrom('', 'x', ',', '\u0000', "'")).map(([cut, tail]) => (r) => {
        const text = r.payload ?? '{}';
        const broken = text.slice(0, cut % text.length) + tail || '{';
        return withPayload(broken, `malformed ${JSON.stringify(broken).slice(0, 40)}`)(r);
      }),
    );
    out.push(
      fc.constantFrom(...ODD_CONTENT_TYPES).map((type) => (r) => ({
        ...r,
        payload: r.payload === undefined || r.payload === '{}' ? '{"a":1}' : r.payload,
        headers: { ...r.headers, 'content-type': type },
        invalid: `content-type ${type}`,
      })),
    );
    if (schema.maxProperties === 0) {
      out.push(
        fc
          .constantFrom(...PROTOTYPE_NAMES, 'amount')
          .map((key) => withPayload(`{${JSON.stringify(key)}:1}`, `key ${key} on an empty body`)),
      );
    }
  }
  for (const p of op.parameters.filter((q) => q.in === 'path')) {
    out.push(
      fc.constantFrom(...INVALID_PATH_IDS).map((id) => (r, parts) => ({
        ...r,
        url: assemble(op, { ...parts, path: { ...parts.path, [p.name]: id } }, t.auth).url,
        invalid: `path ${p.name}=${id.slice(0, 20)}`,
      })),
    );
  }
  const query = op.parameters.filter((q) => q.in === 'query');
  if (query.length > 0) {
    out.push(
      fc
        .tuple(
          fc.constantFrom(...PROTOTYPE_NAMES, 'unknown', 'LIMIT', 'user_id'),
          fc.constantFrom('x', '', '1'),
        )
        .map(([key, value]) => (r) => ({
          ...r,
          url: `${r.url}${r.url.includes('?') ? '&' : '?'}${encodeURIComponent(key)}=${encodeURIComponent(value)}`,
          invalid: `query ${key}`,
        })),
    );
    out.push(
      fc
        .constantFrom(...query)
        .chain((p) =>
          fc.tuple(
            fc.constant(p.name),
            fc.constantFrom(...invalidQueryValues(p.schema)),
            fc.boolean(),
          ),
        )
        .map(([name, value, twice]) => (r) => {
          const valid = query.find((q) => q.name === name);
          const first =
            twice && valid !== undefined
              ? `${encodeURIComponent(name)}=${encodeURIComponent(invalidQueryValues(valid.schema)[0])}&`
              : '';
          return {
            ...r,
            url: `${r.url}${r.url.includes('?') ? '&' : '?'}${first}${encodeURIComponent(name)}=${encodeURIComponent(value)}`,
            invalid: `query ${name}=${value.slice(0, 20)}`,
          };
        }),
    );
  }
  if (op.parameters.some((p) => p.in === 'header' && p.name === 'Idempotency-Key')) {
    out.push(
      fc
        .constantFrom<string | string[]>('k'.repeat(256), '\u00e9t\u00e9', ['a', 'b'])
        .map((key) => (r) => ({
          ...r,
          headers: { ...r.headers, 'idempotency-key': key },
          invalid: `Idempotency-Key ${JSON.stringify(key).slice(0, 20)}`,
        })),
    );
  }
  if (op.secured) {
    out.push(
      fc.option(fc.constantFrom(...BAD_AUTHORIZATION), { nil: undefined }).map((auth) => (r) => {
        const headers = { ...r.headers };
        if (auth === undefined) delete headers.authorization;
        else headers.authorization = auth;
        return { ...r, headers, invalid: `Authorization ${auth ?? '(none)'}` };
      }),
    );
  }
  return out;
}

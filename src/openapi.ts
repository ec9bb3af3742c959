import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { BEARER_SCHEME } from './http/auth/access.js';
import { problemResponse } from './http/api-problems.js';
import { STORED_STATUSES } from './idempotency/answer.js';
import { REPLAY_HEADERS } from './idempotency/idempotent-request.js';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('billing-service')
    .setDescription(
      'Token billing: balances, debits (charge-tokens), credits, the ledger and monthly usage. ' +
        'Amounts are JSON integers from 1 to 2^53-1; user ids are RFC 4122 UUIDs. Every error ' +
        'is RFC 9457 problem details (application/problem+json) with a stable `code`.',
    )
    .setVersion('1.0.0')
    .addServer('/', 'This service')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        // Tokens are opaque strings (BILLING_CLIENTS), not JWTs: no bearerFormat hint.
        bearerFormat: undefined,
        description:
          'A client token from BILLING_CLIENTS. Each operation names the scope it needs ' +
          '(x-required-scope): read, charge or credit.',
      },
      BEARER_SCHEME,
    )
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controllerKey: string, methodKey: string) => methodKey,
  });
  closeRequestBodies(document);
  documentRouterErrors(document);
  documentReplays(document);
  return document;
}

type Operations = OpenAPIObject['paths'][string];
const operationsOf = (path: Operations) =>
  [path.get, path.post, path.put, path.patch, path.delete].filter((op) => op !== undefined);

/**
 * The router answers 414 for any path parameter over maxParamLength (see http-app.ts) before a
 * controller runs: every operation with a path parameter can answer it.
 */
function documentRouterErrors(document: OpenAPIObject): void {
  for (const path of Object.values(document.paths)) {
    for (const operation of operationsOf(path)) {
      const inPath = (operation.parameters ?? []).some((p) => 'in' in p && p.in === 'path');
      if (inPath && operation.responses['414'] === undefined) {
        operation.responses['414'] = problemResponse(414);
      }
    }
  }
}

/**
 * The validation pipe refuses unknown fields in every request body (400): say so in the document,
 * or clients (and Prism) take a refused request for a valid one.
 */
function closeRequestBodies(document: OpenAPIObject): void {
  const schemas = document.components?.schemas ?? {};
  for (const path of Object.values(document.paths)) {
    for (const operation of operationsOf(path)) {
      const body = operation.requestBody;
      if (body === undefined || !('content' in body)) continue;
      for (const media of Object.values(body.content)) {
        const ref = media.schema && '$ref' in media.schema ? media.schema.$ref : undefined;
        const schema = ref === undefined ? undefined : schemas[ref.split('/').pop() ?? ''];
        if (schema !== undefined && !('$ref' in schema)) {
          (schema as { additionalProperties?: boolean }).additionalProperties = false;
        }
      }
    }
  }
}

/**
 * An operation that takes an Idempotency-Key replays its stored answers, the refusals it decided
 * (402/404/409/422) as well as its 2xx, with `Idempotent-Replayed: true`: every such response
 * documents the header.
 */
function documentReplays(document: OpenAPIObject): void {
  for (const path of Object.values(document.paths)) {
    for (const operation of operationsOf(path)) {
      const keyed = (operation.parameters ?? []).some(
        (p) => 'in' in p && p.in === 'header' && p.name === 'Idempotency-Key',
      );
      if (!keyed) continue;
      for (const [status, response] of Object.entries(operation.responses)) {
        const stored = status.startsWith('2') || STORED_STATUSES.has(Number(status));
        if (!stored || response === undefined || '$ref' in response) continue;
        (response as { headers?: object }).headers = {
          ...(response as { headers?: object }).headers,
          ...REPLAY_HEADERS,
        };
      }
    }
  }
}

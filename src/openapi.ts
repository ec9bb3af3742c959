import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { BEARER_SCHEME } from './common/auth/access.js';

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
        description:
          'A client token from BILLING_CLIENTS. Each operation names the scope it needs ' +
          '(x-required-scope): read, charge or credit.',
      },
      BEARER_SCHEME,
    )
    .build();
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controllerKey: string, methodKey: string) => methodKey,
  });
}

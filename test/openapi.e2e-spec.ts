import { beforeAll, describe, expect, it } from '@jest/globals';
import { useTestApp } from './support/fixture.js';

interface Operation {
  operationId: string;
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
}
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

describe('OpenAPI document and Swagger UI', () => {
  const f = useTestApp();
  let doc: Document;

  beforeAll(async () => {
    const answer = await f.api.get<Document>('/billing/docs-json');
    expect(answer.status).toBe(200);
    doc = answer.body;
  });

  const operations: Array<[string, string, string[]]> = [
    ['post', '/billing/charge-tokens', ['200', '400', '402', '413', '415']],
    ['post', '/billing/credit-tokens', ['200', '400', '413', '415', '422']],
    ['get', '/billing/balance/{user_id}', ['200', '400', '404']],
    ['get', '/billing/transactions/{user_id}', ['200', '400', '404']],
    ['get', '/billing/monthly-usage/{user_id}', ['200', '400']],
  ];

  it('lists all five operations', () => {
    const listed = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method} ${path}`),
    );
    for (const [method, path] of operations) expect(listed).toContain(`${method} ${path}`);
  });

  it.each(operations)(
    'documents %s %s with its success and every error response',
    (method, path, statuses) => {
      const operation = doc.paths[path]?.[method];
      expect(operation).toBeDefined();
      for (const status of statuses) expect(Object.keys(operation.responses)).toContain(status);
      for (const status of statuses.filter((s) => s !== '200')) {
        expect(operation.responses[status].content?.['application/problem+json']?.schema.$ref).toBe(
          '#/components/schemas/ProblemDto',
        );
      }
    },
  );

  it('describes the charge body with integer amount bounds from the DTO', () => {
    const schema = doc.components.schemas.MoneyMovementDto as {
      properties: Record<string, Record<string, unknown>>;
      required: string[];
    };
    expect(schema.required).toEqual(expect.arrayContaining(['user_id', 'amount', 'description']));
    expect(schema.properties.amount).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
    });
    expect(schema.properties.user_id).toMatchObject({ type: 'string', format: 'uuid' });
    expect(schema.properties.description).toMatchObject({ minLength: 1, maxLength: 1000 });
  });

  it('says that the monthly-usage end_date is exclusive', () => {
    const operation = doc.paths['/billing/monthly-usage/{user_id}'].get as {
      description?: string;
    };
    expect(operation.description).toMatch(/exclusive/);
  });

  it('serves Swagger UI and the YAML document', async () => {
    const ui = await f.app
      .getHttpAdapter()
      .getInstance()
      .inject({ method: 'GET', url: '/billing/docs' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
    expect(ui.body).toContain('swagger-ui');
    const yaml = await f.app
      .getHttpAdapter()
      .getInstance()
      .inject({ method: 'GET', url: '/billing/docs-yaml' });
    expect(yaml.statusCode).toBe(200);
    expect(yaml.body).toContain('/billing/charge-tokens');
  });
});

import { Logger, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import type { FastifyError, FastifyReply, FastifyRequest, RawServerDefault } from 'fastify';
import { AppModule, type RunConfig } from './app.module.js';
import { PROBLEM_CONTENT_TYPE, toProblem } from './common/problem-details.js';
import { ProblemDetailsFilter } from './common/problem-details.filter.js';
import { StrictValidationPipe } from './common/validation.pipe.js';
import { buildOpenApiDocument } from './openapi.js';
import { onDatabaseClientError } from './database/data-source-options.js';

export const API_PREFIX = 'billing';

export interface CreateAppOptions {
  /** Build the module graph without instantiating providers (no database): for the OpenAPI export. */
  preview?: boolean;
  logger?: LoggerService | false;
}

/**
 * The HTTP application, configured the same way for the service, the tests and the OpenAPI export.
 */
export async function createApp(
  config: RunConfig,
  options: CreateAppOptions = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    routerOptions: { maxParamLength: 100 },
    // Router errors (a malformed % escape, an over-long parameter) bypass Nest's filters.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const body = toProblem(error, request.url);
      void reply.status(body.status).header('content-type', PROBLEM_CONTENT_TYPE).send(body);
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    preview: options.preview ?? false,
    // Nest's own parsers would add application/x-www-form-urlencoded; Fastify's JSON parser is
    // the only one wanted.
    bodyParser: false,
    abortOnError: false,
    logger: options.logger ?? new Logger(),
  });

  const databaseLog = new Logger('Database');
  onDatabaseClientError((error) => databaseLog.warn(`connection error: ${error.message}`));

  // JSON only: Fastify would otherwise hand text/plain bodies to the handlers as strings.
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeContentTypeParser(['text/plain']);
  // An empty JSON body is no body (capture and release take an empty body or {}).
  const json = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser<RawServerDefault>(
    'application/json',
    { bodyLimit: config.bodyLimitBytes },
    (req, body, done) =>
      body.length === 0 ? done(null, undefined) : json(req, body.toString('utf8'), done),
  );

  app.setGlobalPrefix(API_PREFIX);
  app.useGlobalPipes(new StrictValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter());

  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, {
    useGlobalPrefix: true,
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
  });
  return app;
}

import { StreamableFile } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
  type RawServerDefault,
} from 'fastify';
import { AppModule, type RunConfig } from './app.module.js';
import { callerOf } from './http/caller.js';
import { type AppLogger, createLogger, NestLogger } from './common/logger.js';
import { answerWrongMethods, corsOptions, redirectToDocs } from './http/http-surface.js';
import { gated } from './http/json-gate.js';
import { ProblemDetailsFilter, sendProblem } from './http/problem-details.filter.js';
import { enforceRequestDeadline } from './http/request-deadline.js';
import { REQUEST_ID_HEADER, requestId } from './http/request-id.js';
import { StrictValidationPipe } from './http/validation.pipe.js';
import { onDatabaseClientError } from './database/data-source-options.js';
import { Lifecycle } from './lifecycle/lifecycle.js';
import { Metrics } from './metrics/metrics.js';
import { buildOpenApiDocument } from './openapi.js';

export const API_PREFIX = 'billing';

/** Routes that operators' machinery polls: logged at debug, not info. */
const QUIET_ROUTES = new Set(['/metrics', '/billing/health/live', '/billing/health/ready']);

export interface CreateAppOptions {
  /** Build the module graph without instantiating providers (no database): for the OpenAPI export. */
  preview?: boolean;
  /** The JSON logger (default: one at the configured level on stdout); `false`: silent. */
  logger?: AppLogger | false;
}

/**
 * Nest's Fastify adapter, except that a handler finishing after its request was already answered
 * (503 by the request timeout, REQUEST_TIMEOUT_MS) is dropped quietly: its outcome stays with the
 * Idempotency-Key, and a stream it opened (a database cursor) is closed rather than left open.
 */
class BillingFastifyAdapter extends FastifyAdapter {
  override reply(
    ...args: Parameters<FastifyAdapter['reply']>
  ): ReturnType<FastifyAdapter['reply']> {
    const [response, body] = args as [ServerResponse | FastifyReply, unknown];
    if ('sent' in response && response.sent) {
      if (body instanceof StreamableFile) body.getStream().destroy();
      return response;
    }
    return super.reply(...args);
  }
}

/**
 * Per request: the id is echoed to the caller (and the connection closed when draining); on completion one access-log line (with the
 * request id, the client name and the duration, never a header) and the metrics observation.
 */
function instrument(fastify: FastifyInstance, metrics: Metrics, lifecycle: Lifecycle): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    // Once draining, keep-alive connections are closed after each response: clients reconnect
    // (to replicas still in the endpoints), and the server's close need not wait for idle sockets.
    if (lifecycle.draining) void reply.header('connection', 'close');
    done(null, payload);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observe(request, reply, route);
    const line = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      client: callerOf(request).name,
    };
    if (QUIET_ROUTES.has(route)) request.log.debug(line, 'request completed');
    else request.log.info(line, 'request completed');
    done();
  });
  // Prometheus convention: at the root, outside /billing and outside the OpenAPI document.
  fastify.get('/metrics', async (_request, reply) => {
    const text = await metrics.render();
    return reply.header('content-type', metrics.contentType).send(text);
  });
}

/**
 * The HTTP application, configured the same way for the service, the tests and the OpenAPI export.
 */
export async function createApp(
  config: RunConfig,
  options: CreateAppOptions = {},
): Promise<NestFastifyApplication> {
  const logger =
    options.logger === false
      ? createLogger('silent')
      : (options.logger ?? createLogger(config.logLevel));
  const adapter = new BillingFastifyAdapter({
    loggerInstance: logger,
    // Fastify's two lines per request are replaced by one access line (see instrument()).
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'request_id',
    }),
    requestIdHeader: false,
    // While closing, a request that still arrives on an open keep-alive connection is served
    // (with Connection: close) rather than answered 503: the drain refuses nothing it can serve.
    return503OnClosing: false,
    genReqId: requestId,
    // Receiving a request (headers and body) may take this long; Node enforces it from the
    // server's construction options and checks every second (its default interval is 30 s).
    requestTimeout: config.requestReceiveTimeoutMs,
    http: {
      requestTimeout: config.requestReceiveTimeoutMs,
      connectionsCheckingInterval: 1000,
    },
    bodyLimit: config.bodyLimitBytes,
    routerOptions: { maxParamLength: 100 },
    // Router errors (a malformed % escape, an over-long parameter) bypass Nest's filters.
    // (They skip the onSend hook too: hence the request id here.)
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      void reply.header(REQUEST_ID_HEADER, request.id);
      sendProblem(error, request, reply);
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    preview: options.preview ?? false,
    // Nest's own parsers would add application/x-www-form-urlencoded; Fastify's JSON parser is
    // the only one wanted.
    bodyParser: false,
    abortOnError: false,
    logger: new NestLogger(logger),
  });

  const databaseLog = logger.child({ context: 'Database' });
  onDatabaseClientError((error) => databaseLog.warn(`connection error: ${error.message}`));

  const fastify = app.getHttpAdapter().getInstance();
  if (!options.preview) answerWrongMethods(fastify); // before any route is registered
  if (config.corsOrigins.length > 0) app.enableCors(corsOptions(config.corsOrigins));
  // JSON only: Fastify would otherwise hand text/plain bodies to the handlers as strings.
  fastify.removeContentTypeParser(['text/plain']);
  // An empty JSON body is no body (capture and release take an empty body or {}). Every parsed
  // body passes the JSON gate (depth, size, prototype-named keys) before anything reads it.
  const json = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser<RawServerDefault>(
    'application/json',
    { bodyLimit: config.bodyLimitBytes },
    (req, body, done) =>
      body.length === 0 ? done(null, undefined) : json(req, body.toString('utf8'), gated(done)),
  );
  if (!options.preview) {
    instrument(fastify, app.get(Metrics), app.get(Lifecycle));
    redirectToDocs(fastify, `/${API_PREFIX}/docs`);
    enforceRequestDeadline(fastify, config.requestTimeoutMs);
  }

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

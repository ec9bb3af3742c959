import Fastify from 'fastify';
import { LimitWork } from './limit-work.js';

/**
 * The limits for the reads, run as their own process like the service: bare Fastify returning the
 * service's JSON with no database (the HTTP limit), and bare Fastify + pg running the service's
 * own read statements on a pool of the same size (see LimitWork).
 * Arguments: port, database URL, pool size.
 */
const [port, url, poolSize] = process.argv.slice(2);
const work = new LimitWork(url, Number(poolSize));
const app = Fastify({ logger: false });

app.post('/json', () => LimitWork.charged);
app.get<{ Params: { id: string } }>('/balance/:id', (request) => work.balance(request.params.id));
app.get<{ Params: { id: string } }>('/monthly-usage/:id', (request) =>
  work.usage(request.params.id),
);
app.get<{ Params: { id: string }; Querystring: { limit: string } }>(
  '/transactions/:id',
  (request) => work.page(request.params.id, Number(request.query.limit)),
);

await app.listen({ port: Number(port), host: '127.0.0.1' });
work.stopOnSigterm(app);

import type { NestFastifyApplication } from '@nestjs/platform-fastify';

export interface Answer<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: T;
  /** The body exactly as sent. */
  text: string;
}

/** Thin wrapper over Fastify's inject(): JSON in, parsed JSON out. */
export function client(app: NestFastifyApplication) {
  const fastify = app.getHttpAdapter().getInstance();
  async function send<T>(
    method: 'GET' | 'POST',
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
    const raw = typeof body === 'string' || body === undefined;
    const response = await fastify.inject({
      method,
      url,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      payload: raw ? body : JSON.stringify(body),
    });
    const text = response.body;
    return {
      status: response.statusCode,
      headers: response.headers,
      body: (text ? JSON.parse(text) : undefined) as T,
      text,
    };
  }
  return {
    get: <T = Record<string, unknown>>(url: string, headers?: Record<string, string>) =>
      send<T>('GET', url, undefined, headers),
    post: <T = Record<string, unknown>>(
      url: string,
      body?: unknown,
      headers?: Record<string, string>,
    ) => send<T>('POST', url, body, headers),
  };
}

export type Client = ReturnType<typeof client>;

import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('gives development defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      nodeEnv: 'development',
      host: '127.0.0.1',
      port: 3000,
      bodyLimitBytes: 16384,
      database: { url: undefined, migrateOnStart: false, poolSize: 20 },
    });
  });

  it('has no drain delay outside production unless asked, 5 s in production', () => {
    const production = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://u:p@db/b',
      BILLING_AUTH: 'off',
    };
    expect(loadConfig({}).shutdown.delayMs).toBe(0);
    expect(loadConfig({ SHUTDOWN_DELAY_MS: '800' }).shutdown.delayMs).toBe(800);
    expect(loadConfig(production).shutdown.delayMs).toBe(5000);
  });

  it('reads CORS_ORIGINS as exact origins, off by default, and refuses anything else', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(
      loadConfig({ CORS_ORIGINS: 'https://dash.example.com, http://localhost:5173' }).corsOrigins,
    ).toEqual(['https://dash.example.com', 'http://localhost:5173']);
    for (const bad of ['*', 'dash.example.com', 'https://dash.example.com/', 'https://a.b/path']) {
      expect(() => loadConfig({ CORS_ORIGINS: bad })).toThrow(/CORS_ORIGINS must list origins/);
    }
  });

  it('tells an explicitly set embedded port from the default one', () => {
    expect(loadConfig({}).embedded).toMatchObject({ port: 54329, portExplicit: false });
    expect(loadConfig({ EMBEDDED_PG_PORT: '54329' }).embedded).toMatchObject({
      port: 54329,
      portExplicit: true,
    });
  });

  it('reads every documented variable', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      HOST: '0.0.0.0',
      PORT: '8080',
      DATABASE_URL: 'postgres://u:p@db:5432/billing',
      MIGRATE_ON_START: 'true',
      DB_POOL_SIZE: '50',
      BODY_LIMIT_BYTES: '4096',
      LOG_LEVEL: 'warn',
      BILLING_CLIENTS: `orchestrator:charge,read:${'t'.repeat(32)}`,
      BILLING_RATE_LIMITS: 'orchestrator:100/s',
      REQUEST_RECEIVE_TIMEOUT_MS: '5000',
      HEALTH_READY_TIMEOUT_MS: '800',
      SHUTDOWN_DELAY_MS: '3000',
      SHUTDOWN_DRAIN_TIMEOUT_MS: '20000',
    });
    expect(config).toMatchObject({
      nodeEnv: 'production',
      host: '0.0.0.0',
      port: 8080,
      logLevel: 'warn',
      bodyLimitBytes: 4096,
      database: { url: 'postgres://u:p@db:5432/billing', migrateOnStart: true, poolSize: 50 },
      auth: { mode: 'clients' },
      requestReceiveTimeoutMs: 5000,
      health: { readyTimeoutMs: 800 },
      shutdown: { delayMs: 3000, drainTimeoutMs: 20_000 },
    });
    expect(config.auth.clients.map((c) => c.name)).toEqual(['orchestrator']);
    expect(config.rateLimits.get('orchestrator')).toEqual({ requests: 100, windowMs: 1000 });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DB_POOL_SIZE', '0'],
    ['MIGRATE_ON_START', 'yes'],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'loud'],
    ['DATABASE_URL', 'mysql://db/billing'],
    ['BILLING_AUTH', 'maybe'],
    ['BILLING_CLIENTS', 'a:read:short'],
    ['BILLING_RATE_LIMITS', 'a:lots'],
    ['SHUTDOWN_DELAY_MS', '-1'],
    ['HEALTH_READY_TIMEOUT_MS', '10'],
  ])('stops on a bad %s (%s) with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('refuses production without DATABASE_URL', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/DATABASE_URL is required/);
  });

  it('never repeats a malformed DATABASE_URL, which may hold a password', () => {
    let message = '';
    try {
      loadConfig({ DATABASE_URL: 'not a url with s3cret' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('DATABASE_URL');
    expect(message).not.toContain('s3cret');
  });
});

import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parseClients, parseRateLimits, tokenDigest } from './clients.js';
import { ConfigError, loadConfig } from './config.js';

const A = 'a'.repeat(32);
const B = 'B0._~+/=-'.repeat(4);
const C = 'c'.repeat(40);

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('loadConfig did not fail');
}

describe('BILLING_CLIENTS', () => {
  it('parses names, scopes and tokens, keeping only a digest of each token', () => {
    const clients = parseClients(`orchestrator:charge,read:${A};dashboard:read:${B}`);
    expect(clients.map((c) => [c.name, [...c.scopes].sort()])).toEqual([
      ['orchestrator', ['charge', 'read']],
      ['dashboard', ['read']],
    ]);
    expect(clients[0].tokenDigest.equals(tokenDigest(A))).toBe(true);
    expect(JSON.stringify(clients)).not.toContain(A);
  });

  it('accepts a name twice with two tokens (rotation), and line breaks and blanks around entries', () => {
    const clients = parseClients(`\n admin:credit,read:${A} ;\nadmin:read,credit:${C}\n`);
    expect(clients.map((c) => c.name)).toEqual(['admin', 'admin']);
  });

  it.each([
    [`dashboard:read`, /entry 1 \("dashboard"\) must have the form name:scopes:token/],
    [`x:read:${A};dashboard:write:${B}`, /entry 2 \("dashboard"\) has an unknown scope "write"/],
    [`dashboard:read:short`, /entry 1 \("dashboard"\) has an invalid token/],
    [`dashboard:read:${'é'.repeat(32)}`, /has an invalid token/],
    [`bad name:read:${A}`, /entry 1 has an invalid client name/],
    [`a:read:${A};b:read:${A}`, /entry 2 \("b"\) repeats the token of client "a"/],
    [`a:read:${A};a:read,charge:${B}`, /entry 2 \("a"\) lists client "a" again with different/],
    [`a:read:${A}:extra`, /must have the form/],
    [`a::${A}`, /unknown scope ""/],
  ])('refuses %s naming the entry, never the token', (value, message) => {
    expect(() => parseClients(value)).toThrow(message);
    try {
      parseClients(value);
    } catch (error) {
      expect((error as Error).message).not.toContain(A);
      expect((error as Error).message).not.toContain('short');
    }
  });
});

describe('authentication settings', () => {
  it('requires clients in production unless BILLING_AUTH=off says so', () => {
    const production = { NODE_ENV: 'production', DATABASE_URL: 'postgres://u@h/db' };
    expect(configError(production).variable).toBe('BILLING_CLIENTS');
    expect(loadConfig({ ...production, BILLING_AUTH: 'off' }).auth.mode).toBe('off');
    expect(loadConfig({ ...production, BILLING_CLIENTS: `a:read:${A}` }).auth.mode).toBe('clients');
  });

  it('runs open without clients outside production, on 127.0.0.1 by default', () => {
    const config = loadConfig({});
    expect(config.auth).toEqual({ mode: 'open', clients: [] });
    expect(config.host).toBe('127.0.0.1');
  });

  it('refuses BILLING_AUTH=off together with clients, and both client variables at once', () => {
    expect(configError({ BILLING_AUTH: 'off', BILLING_CLIENTS: `a:read:${A}` }).variable).toBe(
      'BILLING_AUTH',
    );
    expect(
      configError({ BILLING_CLIENTS: `a:read:${A}`, BILLING_CLIENTS_FILE: '/x' }).variable,
    ).toBe('BILLING_CLIENTS_FILE');
  });

  it('reads the clients from BILLING_CLIENTS_FILE (a mounted secret, trailing newline)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clients-'));
    const file = path.join(dir, 'clients');
    writeFileSync(file, `a:read:${A}\nb:charge:${B}\n`);
    expect(loadConfig({ BILLING_CLIENTS_FILE: file }).auth.clients.map((c) => c.name)).toEqual([
      'a',
      'b',
    ]);
    const missing = configError({ BILLING_CLIENTS_FILE: path.join(dir, 'none') });
    expect(missing.message).toMatch(/BILLING_CLIENTS_FILE names a file that cannot be read/);
  });

  it('names BILLING_CLIENTS and the entry in a boot error, without the token', () => {
    const error = configError({ BILLING_CLIENTS: `ok:read:${A};broken:read:${C}x y` });
    expect(error.variable).toBe('BILLING_CLIENTS');
    expect(error.message).toContain('entry 2 ("broken")');
    expect(error.message).not.toContain(C);
  });
});

describe('BILLING_RATE_LIMITS', () => {
  it('parses per-client limits and a default', () => {
    const limits = parseRateLimits('orchestrator:200/s;dashboard:60/m;*:5/h');
    expect(Object.fromEntries(limits)).toEqual({
      orchestrator: { requests: 200, windowMs: 1000 },
      dashboard: { requests: 60, windowMs: 60_000 },
      '*': { requests: 5, windowMs: 3_600_000 },
    });
    expect(parseRateLimits('').size).toBe(0);
  });

  it.each(['a:10', 'a:0/s', 'a:10/d', 'a:1/s;a:2/s'])('refuses %s', (value) => {
    expect(() => parseRateLimits(value)).toThrow(/entry/);
  });
});

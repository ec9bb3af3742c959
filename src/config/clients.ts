import { hash } from 'node:crypto';

/**
 * Named API clients (BILLING_CLIENTS / BILLING_CLIENTS_FILE) and per-client rate limits
 * (BILLING_RATE_LIMITS). Parsed once at boot. Only a SHA-256 digest of each token is kept, and no
 * message ever repeats a token: errors name the entry by position and client name.
 */
export const SCOPES = ['read', 'charge', 'credit'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ClientCredential {
  name: string;
  scopes: ReadonlySet<Scope>;
  /** SHA-256 of the bearer token. */
  tokenDigest: Buffer;
}

export interface RateLimit {
  /** Requests allowed per window (also the burst). */
  requests: number;
  windowMs: number;
}

/** `*` is the limit of every client not named. */
export type RateLimits = ReadonlyMap<string, RateLimit>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const TOKEN = /^[A-Za-z0-9._~+/=-]{32,512}$/;

export function tokenDigest(token: string): Buffer {
  // The one-shot hash: every authenticated request pays this (0.7 µs here, createHash 1.3 µs).
  return hash('sha256', token, 'buffer');
}

/** Entries are separated by `;` (or line breaks, as a mounted secret file may hold them). */
function entries(value: string): string[] {
  return value
    .split(/[;\r\n]+/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

function parseScopes(raw: string, where: string): Set<Scope> {
  const scopes = new Set<Scope>();
  for (const scope of raw.split(',').map((s) => s.trim())) {
    if (!(SCOPES as readonly string[]).includes(scope)) {
      throw new Error(`${where} has an unknown scope "${scope}" (allowed: ${SCOPES.join(', ')})`);
    }
    scopes.add(scope as Scope);
  }
  return scopes;
}

function sameScopes(a: ReadonlySet<Scope>, b: ReadonlySet<Scope>): boolean {
  return a.size === b.size && [...a].every((s) => b.has(s));
}

/**
 * `name:scopes:token;…`. A name listed twice (two tokens) accepts both, for rotation; both entries
 * must carry the same scopes. Throws an Error whose message names the entry, never the token.
 */
export function parseClients(value: string): ClientCredential[] {
  const clients: ClientCredential[] = [];
  entries(value).forEach((entry, index) => {
    const parts = entry.split(':');
    const name = parts[0] ?? '';
    const where = NAME.test(name) ? `entry ${index + 1} ("${name}")` : `entry ${index + 1}`;
    if (parts.length !== 3) {
      throw new Error(`${where} must have the form name:scopes:token`);
    }
    if (!NAME.test(name)) {
      throw new Error(`${where} has an invalid client name (letters, digits, . _ -; at most 64)`);
    }
    const scopes = parseScopes(parts[1], where);
    if (!TOKEN.test(parts[2])) {
      throw new Error(`${where} has an invalid token (32 to 512 characters of A-Za-z0-9._~+/=-)`);
    }
    const digest = tokenDigest(parts[2]);
    for (const other of clients) {
      if (other.tokenDigest.equals(digest)) {
        throw new Error(`${where} repeats the token of client "${other.name}"`);
      }
      if (other.name === name && !sameScopes(other.scopes, scopes)) {
        throw new Error(`${where} lists client "${name}" again with different scopes`);
      }
    }
    clients.push({ name, scopes, tokenDigest: digest });
  });
  return clients;
}

const WINDOWS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** `name:requests/unit;…` with unit s, m or h, e.g. `orchestrator:200/s;dashboard:60/m;*:50/s`. */
export function parseRateLimits(value: string): Map<string, RateLimit> {
  const limits = new Map<string, RateLimit>();
  entries(value).forEach((entry, index) => {
    const match = /^([A-Za-z0-9][A-Za-z0-9._-]{0,63}|\*):(\d{1,9})\/([smh])$/.exec(entry);
    if (match === null) {
      throw new Error(`entry ${index + 1} ("${entry}") must have the form name:requests/s|m|h`);
    }
    const [, name, requests, unit] = match;
    if (limits.has(name)) throw new Error(`entry ${index + 1} names "${name}" a second time`);
    if (Number(requests) < 1) throw new Error(`entry ${index + 1} must allow at least 1 request`);
    limits.set(name, { requests: Number(requests), windowMs: WINDOWS[unit] });
  });
  return limits;
}

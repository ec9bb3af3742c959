import { randomBytes } from 'node:crypto';

/** The client the benchmark calls the service as: the service runs as in production, where a
 *  bearer token is required, so the cost of authentication is part of every measured request.
 *  A fresh token per run, kept in memory only. (The bare servers ignore the header.) */
const token = randomBytes(24).toString('hex');

export const BENCH_CLIENTS = `bench:read,charge,credit:${token}`;
export const BENCH_HEADERS: Record<string, string> = { authorization: `Bearer ${token}` };

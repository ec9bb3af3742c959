import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { useTestApp } from './support/fixture.js';
import { rawGet } from './support/raw-get.js';

interface Entry {
  id: string;
  user_id: string;
  amount: number;
  type: 'debit' | 'credit';
  balance_after: number;
  description: string;
  created_at: string;
}

describe('GET /transactions/{user_id}: pages, filters and streaming', () => {
  const f = useTestApp();

  /**
   * A history written straight by SQL: `count` credits of 1 token, in groups of `tie` rows that
   * share one created_at (as rows of one statement do), one minute apart from group to group.
   */
  async function seedHistory(count: number, tie = 1, start = '2026-01-01T00:00:00Z') {
    const user = randomUUID();
    await f.db.pool.query('INSERT INTO accounts (user_id, balance) VALUES ($1, $2)', [user, count]);
    await f.db.pool.query(
      `INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, created_at, client)
       SELECT $1, 'credit', 1, i, 'grant ' || i,
              $3::timestamptz + ((i - 1) / $2) * interval '1 minute', 'test'
         FROM generate_series(1, $4::int) AS i ORDER BY i`,
      [user, tie, start, count],
    );
    return user;
  }

  async function walk(firstUrl: string): Promise<{ rows: Entry[]; pages: number }> {
    const rows: Entry[] = [];
    let url: string | undefined = firstUrl;
    let pages = 0;
    while (url !== undefined) {
      const answer = await f.api.get<Entry[]>(url);
      expect(answer.status).toBe(200);
      rows.push(...answer.body);
      pages += 1;
      const link = answer.headers.link as string | undefined;
      url = link === undefined ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
      if (link !== undefined) expect(url).toBeDefined();
      expect(pages).toBeLessThan(1000);
    }
    return { rows, pages };
  }

  it('walks every row exactly once, newest first, across pages whose rows share created_at', async () => {
    const user = await seedHistory(257, 10);
    const { rows, pages } = await walk(`/billing/transactions/${user}?limit=25`);
    expect(pages).toBe(11); // 10 full pages and one of 7; no empty last page
    expect(rows.map((r) => r.balance_after)).toEqual(
      Array.from({ length: 257 }, (_, i) => 257 - i),
    );
    expect(new Set(rows.map((r) => r.id)).size).toBe(257);
  });

  it('does not repeat or skip rows when entries are appended while paging', async () => {
    const user = await seedHistory(30);
    const first = await f.api.get<Entry[]>(`/billing/transactions/${user}?limit=10`);
    const credit = await f.api.post('/billing/credit-tokens', {
      user_id: user,
      amount: 5,
      description: 'late top-up',
    });
    expect(credit.status).toBe(200);
    const next = /^<([^>]+)>/.exec(first.headers.link as string)?.[1] as string;
    const rest = await walk(next);
    const all = [...first.body, ...rest.rows].map((r) => r.balance_after);
    expect(all).toEqual(Array.from({ length: 30 }, (_, i) => 30 - i));
  });

  it('gives no Link header on the last page', async () => {
    const user = await seedHistory(5);
    const answer = await f.api.get<Entry[]>(`/billing/transactions/${user}?limit=5`);
    expect(answer.body).toHaveLength(5);
    expect(answer.headers.link).toBeUndefined();
  });

  it('filters by type and by [from, to), and keeps the filters in the next link', async () => {
    const user = await seedHistory(100, 1, '2026-03-01T00:00:00Z'); // minute i-1 holds row i
    await f.db.pool.query(
      `INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, created_at, client)
       VALUES ($1, 'debit', -40, 60, 'a debit', '2026-03-01T00:30:00Z', 'test')`,
      [user],
    );
    const debits = await f.api.get<Entry[]>(`/billing/transactions/${user}?type=debit`);
    expect(debits.body.map((r) => r.amount)).toEqual([-40]);

    const from = encodeURIComponent('2026-03-01T00:10:00Z');
    const to = encodeURIComponent('2026-03-01T01:00:00+01:00'); // = 00:00Z: empty range
    expect(
      (await f.api.get<Entry[]>(`/billing/transactions/${user}?from=${from}&to=${to}`)).body,
    ).toEqual([]);

    const window = `from=${from}&to=${encodeURIComponent('2026-03-01T00:20:00.000Z')}`;
    const credits = await walk(`/billing/transactions/${user}?${window}&type=credit&limit=3`);
    // rows 11..20 were written at minutes 10..19: from inclusive, to exclusive
    expect(credits.rows.map((r) => r.balance_after)).toEqual([
      20, 19, 18, 17, 16, 15, 14, 13, 12, 11,
    ]);
    expect(credits.pages).toBe(4);

    const dateOnly = await f.api.get<Entry[]>(`/billing/transactions/${user}?from=2026-03-02`);
    expect(dateOnly.body).toEqual([]);
  });

  it.each([
    ['limit=0'],
    ['limit=1001'],
    ['limit=abc'],
    ['limit=5.0'],
    ['limit=-1'],
    ['limit=%2010'],
    ['limit=1&limit=2'],
    ['cursor=not-a-cursor'],
    ['cursor=' + 'x'.repeat(65)],
    ['from=yesterday'],
    ['from=2026-02-30'],
    ['from=2026-03-01T10:00:00'], // local time: ambiguous
    ['to=1700000000'],
    ['type=refund'],
    ['page=2'],
  ])('refuses ?%s with 400 VALIDATION_FAILED', async (query) => {
    const user = await seedHistory(1);
    const answer = await f.api.get(`/billing/transactions/${user}?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
  });

  it('answers 404 ACCOUNT_NOT_FOUND for an unknown user, paged or not', async () => {
    const user = randomUUID();
    for (const url of [`/billing/transactions/${user}`, `/billing/transactions/${user}?limit=5`]) {
      const answer = await f.api.get(url);
      expect(answer.status).toBe(404);
      expect(answer.body).toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
    }
  });

  it('answers [] for a known user whose filter matches nothing', async () => {
    const user = await seedHistory(3);
    const answer = await f.api.get(`/billing/transactions/${user}?type=debit`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual([]);
  });

  it('streams a 50,000-row history whole, in order, as one JSON array', async () => {
    const user = await seedHistory(50_000, 7);
    const answer = await f.api.get<Entry[]>(`/billing/transactions/${user}`);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.body).toHaveLength(50_000);
    expect(answer.body[0]).toMatchObject({ user_id: user, amount: 1, balance_after: 50_000 });
    expect(answer.body.every((row, i) => row.balance_after === 50_000 - i)).toBe(true);
    // the connection went back to the pool: the app still answers
    expect((await f.api.get(`/billing/balance/${user}`)).status).toBe(200);
  });

  it('aborts the response (no well-formed truncated array) when the database fails mid-stream', async () => {
    const user = await seedHistory(50_000);
    await f.app.listen(0, '127.0.0.1');
    const { port } = f.app.getHttpServer().address() as AddressInfo;

    const url = `http://127.0.0.1:${port}/billing/transactions/${user}`;
    const outcome = await rawGet(url, (res) => {
      res.pause(); // the server stops at a full socket, mid-history
      void f.db.pool
        .query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
              AND query LIKE '%FROM ledger_entries%'`,
        )
        .then(() => setTimeout(() => res.resume(), 200));
    });
    expect(outcome.status).toBe(200);
    expect(outcome.complete).toBe(false);
    expect(outcome.text.startsWith('[')).toBe(true);
    expect(() => JSON.parse(outcome.text) as unknown).toThrow();

    // the pool recovers: a later request is served
    const after = await f.api.get<Entry[]>(`/billing/transactions/${user}?limit=1`);
    expect(after.status).toBe(200);
  });
});

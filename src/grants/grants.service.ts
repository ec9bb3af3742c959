import { Injectable } from '@nestjs/common';
import { InvalidInputError, messages, NotFoundError } from '../common/errors.js';
import { type GrantRow, GrantsRepository } from './grants.repository.js';

const CURSOR_PREFIX = 'g1.';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The opaque cursor of a grants page: the last grant served. */
export function encodeGrantCursor(grantId: string): string {
  return Buffer.from(`${CURSOR_PREFIX}${grantId}`, 'utf8').toString('base64url');
}

export function decodeGrantCursor(cursor: string): string | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(CURSOR_PREFIX)) return undefined;
  const id = text.slice(CURSOR_PREFIX.length);
  return UUID.test(id) ? id : undefined;
}

export interface GrantsPage {
  rows: GrantRow[];
  /** The cursor of the next page, when there is one. */
  next?: string;
}

@Injectable()
export class GrantsService {
  constructor(private readonly grants: GrantsRepository) {}

  async page(userId: string, cursor: string | undefined, limit: number): Promise<GrantsPage> {
    let after: string | null = null;
    if (cursor !== undefined) {
      after = decodeGrantCursor(cursor) ?? null;
      if (after === null) {
        const message = 'cursor is not a cursor given by this service';
        throw new InvalidInputError(message, [{ field: 'cursor', message }]);
      }
    }
    const rows = await this.grants.page(userId, after, limit + 1);
    if (rows.length === 0 && !(await this.grants.accountExists(userId))) {
      throw new NotFoundError('ACCOUNT_NOT_FOUND', messages.noAccount(userId));
    }
    if (rows.length <= limit) return { rows };
    const served = rows.slice(0, limit);
    return { rows: served, next: encodeGrantCursor(served[served.length - 1].id) };
  }
}

import { Injectable } from '@nestjs/common';
import { InvalidInputError, messages, NotFoundError } from '../common/errors.js';
import type { HistoryQueryDto } from './dto/history-query.dto.js';
import { decodeCursor, encodeCursor } from './history-cursor.js';
import { type HistoryFilter, type LedgerRow, LedgerRepository } from './ledger.repository.js';

export interface HistoryPage {
  rows: LedgerRow[];
  /** The cursor of the next page, when there are rows after this one. */
  next?: string;
}

/** The validated query, parsed: page size (absent: everything) and the filter. */
export interface HistoryRequest {
  limit?: number;
  filter: HistoryFilter;
}

@Injectable()
export class LedgerService {
  constructor(private readonly ledger: LedgerRepository) {}

  /** Turns the query text (already checked for shape by the DTO) into numbers and instants. */
  parse(query: HistoryQueryDto): HistoryRequest {
    const filter: HistoryFilter = { type: query.type };
    if (query.cursor !== undefined) {
      filter.beforeSeq = decodeCursor(query.cursor);
      if (filter.beforeSeq === undefined) {
        const message = 'cursor is not a cursor given by this service';
        throw new InvalidInputError(message, [{ field: 'cursor', message }]);
      }
    }
    if (query.from !== undefined) filter.from = new Date(query.from);
    if (query.to !== undefined) filter.to = new Date(query.to);
    return { limit: query.limit === undefined ? undefined : Number(query.limit), filter };
  }

  /** One page, newest first; `next` is set when a further page exists. */
  async page(userId: string, filter: HistoryFilter, limit: number): Promise<HistoryPage> {
    const rows = await this.ledger.page(userId, filter, limit + 1);
    await this.requireAccountIfEmpty(userId, rows);
    if (rows.length <= limit) return { rows };
    rows.length = limit;
    return { rows, next: encodeCursor(rows[limit - 1].seq) };
  }

  /**
   * Every matching row, newest first, in batches. The first batch is read before this returns,
   * so an unknown user is still a 404 before any byte of the answer is sent.
   */
  async stream(userId: string, filter: HistoryFilter): Promise<AsyncIterableIterator<LedgerRow[]>> {
    const batches = this.ledger.stream(userId, filter);
    const first = await batches.next();
    const firstRows = first.done ? [] : first.value;
    try {
      await this.requireAccountIfEmpty(userId, firstRows);
    } catch (error) {
      await batches.return();
      throw error;
    }
    // Not a generator wrapper: closing it must close the database cursor even when no batch was
    // ever asked for (the HTTP client left before the first chunk was written).
    let pending: LedgerRow[] | undefined = first.done ? undefined : firstRows;
    const iterator: AsyncIterableIterator<LedgerRow[]> = {
      [Symbol.asyncIterator]: () => iterator,
      next: () => {
        if (pending === undefined) return batches.next();
        const value = pending;
        pending = undefined;
        return Promise.resolve({ done: false, value });
      },
      return: () => {
        pending = undefined;
        return batches.return();
      },
    };
    return iterator;
  }

  /** Accounts are created by their first credit, so an account always has a row; the look-up is
   *  only needed to tell "no rows" from "no account". An unknown user is an error, not []. */
  private async requireAccountIfEmpty(userId: string, rows: LedgerRow[]): Promise<void> {
    if (rows.length === 0 && !(await this.ledger.accountExists(userId))) {
      throw new NotFoundError('ACCOUNT_NOT_FOUND', messages.noAccount(userId));
    }
  }
}

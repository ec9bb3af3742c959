import { Readable } from 'node:stream';

/**
 * A JSON array written as its batches arrive, pulled only as fast as the client reads (memory
 * stays bounded). A failure while reading destroys the stream, so the HTTP response is aborted
 * rather than ended: a client never receives a well-formed but truncated array. Destroying the
 * stream (the client went away) closes the source, which releases its database connection.
 */
export function jsonArrayStream<T>(
  batches: AsyncIterableIterator<T[]>,
  toJson: (item: T) => unknown,
): Readable {
  let opened = false;
  return new Readable({
    read() {
      batches.next().then(
        (result) => {
          if (result.done) {
            this.push(opened ? ']' : '[]');
            this.push(null);
            return;
          }
          const items = result.value.map((item) => JSON.stringify(toJson(item))).join(',');
          this.push(opened ? `,${items}` : `[${items}`);
          opened = true;
        },
        (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error))),
      );
    },
    destroy(error, callback) {
      batches.return?.().then(
        () => callback(error),
        () => callback(error),
      );
    },
  });
}

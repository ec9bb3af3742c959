/**
 * The opaque cursor of a history page: the `seq` of the last row served, so the next page is
 * "rows with a smaller seq" (keyset, no OFFSET). Versioned so that its shape can change later.
 */
const PREFIX = 'v1.';

export function encodeCursor(seq: number): string {
  return Buffer.from(`${PREFIX}${seq}`, 'utf8').toString('base64url');
}

/** The seq a cursor stands for, or undefined if it is not one this service gave out. */
export function decodeCursor(cursor: string): number | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(PREFIX)) return undefined;
  const digits = text.slice(PREFIX.length);
  if (!/^\d{1,16}$/.test(digits)) return undefined;
  const seq = Number(digits);
  return Number.isSafeInteger(seq) && seq > 0 ? seq : undefined;
}

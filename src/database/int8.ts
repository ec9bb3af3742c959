import pg from 'pg';

/**
 * PostgreSQL int8 (bigint, count(*)) arrives from the driver as a string. This is the one place
 * where such a value becomes a JavaScript number: a value that is not a safe integer is refused
 * instead of being silently rounded.
 */
export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`int8 value ${text} is outside the safe integer range`);
  }
  return value;
}

const INT8 = 20;
const DATE = 1082;
const keepText = (text: string): string => text;
const defaultParser = pg.types.getTypeParser as (oid: number, format?: string) => unknown;

/** Type parsers for the pool under TypeORM's DataSource: int8 becomes a safe JS integer, and a
 *  calendar date stays 'YYYY-MM-DD' (the default would make a Date at local midnight). */
export const pgTypes = {
  getTypeParser: (oid: number, format?: string): unknown => {
    if (format !== 'binary') {
      if (oid === INT8) return parseInt8;
      if (oid === DATE) return keepText;
    }
    return defaultParser(oid, format);
  },
} as pg.CustomTypesConfig;

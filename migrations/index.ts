import { InitialSchema1764100000000 } from './1764100000000-InitialSchema.js';
import { MoneySafety1764130000000 } from './1764130000000-MoneySafety.js';
import { Grants1764200000000 } from './1764200000000-Grants.js';

/** Every migration, in order. Listed explicitly (not by glob) so that the same list works from
 *  ts-jest, ts-node and the compiled dist/. */
export const migrations = [
  InitialSchema1764100000000,
  MoneySafety1764130000000,
  Grants1764200000000,
];

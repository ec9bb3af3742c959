import { InvalidInputError } from '../common/errors.js';

/** The deepest nesting accepted in a body or query: the top-level value is level 1. */
export const MAX_JSON_DEPTH = 32;
/** The most object keys plus array elements, counted over the whole value. */
export const MAX_JSON_NODES = 1000;
/** Keys refused at any depth: they reach or replace prototypes once a library copies a value. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The gate every parsed input passes before any DTO (class-transformer, class-validator) or other
 * code walks it: bounded nesting and size, and no prototype-named key at any depth. An iterative
 * walk with an explicit stack, so that no input can overflow the call stack here; libraries that
 * recurse (class-transformer does) only ever see values this gate has bounded.
 */
export function assertJsonShape(value: unknown): void {
  const pending: Array<{ value: unknown; depth: number; path: string }> = [
    { value, depth: 1, path: '' },
  ];
  let nodes = 0;
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next.value === null || typeof next.value !== 'object') continue;
    if (next.depth > MAX_JSON_DEPTH) {
      throw new InvalidInputError(`The input is nested deeper than ${MAX_JSON_DEPTH} levels.`, [
        {
          field: next.path || '(input)',
          message: `must not nest deeper than ${MAX_JSON_DEPTH} levels`,
        },
      ]);
    }
    const keys = Object.keys(next.value);
    nodes += keys.length;
    if (nodes > MAX_JSON_NODES) {
      throw new InvalidInputError(
        `The input has more than ${MAX_JSON_NODES} keys and elements in all.`,
      );
    }
    const isArray = Array.isArray(next.value);
    for (const key of keys) {
      const path = isArray ? `${next.path}[${key}]` : next.path ? `${next.path}.${key}` : key;
      if (!isArray && PROTOTYPE_KEYS.has(key)) {
        throw new InvalidInputError(`The key "${key}" is not accepted anywhere in the input.`, [
          { field: path, message: `${key} is not an accepted key` },
        ]);
      }
      const child = (next.value as Record<string, unknown>)[key];
      pending.push({ value: child, depth: next.depth + 1, path });
    }
  }
}

/** A body parser's callback, with the gate applied to what was parsed. */
export function gated(
  done: (error: Error | null, body?: unknown) => void,
): (error: Error | null, body?: unknown) => void {
  return (error, body) => {
    if (error !== null) return done(error);
    try {
      assertJsonShape(body);
    } catch (refused) {
      return done(refused as Error);
    }
    done(null, body);
  };
}

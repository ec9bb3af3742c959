import type { ValidationError } from 'class-validator';

/** How a JSON value's kind reads in a message: "(got a string)". */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a number' : 'a fraction';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** Rules about the kind of value: checked (and reported) before any rule about its content. */
const KIND_RULES: Record<string, (field: string, value: unknown) => string> = {
  isInt: (field, value) => `${field} must be a JSON integer (got ${kindOf(value)})`,
  isBoolean: (field, value) => `${field} must be true or false (got ${kindOf(value)})`,
  isString: (field, value) => `${field} must be a string (got ${kindOf(value)})`,
};

/**
 * The one true message for a field: "is required" when it is missing, else the first rule it
 * fails, kind before content (`"10"` is not an integer; whether it is below 1 does not arise).
 * class-validator reports every failed rule, several of them false for the value (a string "is
 * not less than 1") and some twice.
 */
export function fieldMessage(field: string, error: ValidationError): string | undefined {
  const constraints = error.constraints ?? {};
  const failed = Object.keys(constraints);
  if (failed.length === 0) return undefined;
  if (error.value === undefined && !failed.includes('whitelist')) return `${field} is required`;
  const kindRule = Object.keys(KIND_RULES).find((rule) => failed.includes(rule));
  if (kindRule !== undefined) return KIND_RULES[kindRule](field, error.value);
  if (
    typeof error.value !== 'string' &&
    failed.some((rule) => rule === 'isUuid' || rule === 'isIn')
  ) {
    return `${field} must be a string (got ${kindOf(error.value)})`;
  }
  return constraints[failed[0]];
}

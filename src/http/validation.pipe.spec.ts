import { describe, expect, it } from '@jest/globals';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, ValidateNested } from 'class-validator';
import { InvalidInputError } from '../common/errors.js';
import { StrictValidationPipe } from './validation.pipe.js';

class Line {
  @IsInt()
  tokens!: number;
}

class Order {
  @IsOptional()
  @ValidateNested()
  @Type(() => Line)
  line?: Line;

  @IsOptional()
  @ValidateNested({ each: true })
  @Type(() => Line)
  lines?: Line[];
}

const pipe = new StrictValidationPipe();
const run = (value: unknown) => () =>
  pipe.transform(value, { type: 'body', metatype: Order, data: undefined });

function fieldsOf(value: unknown): string[] {
  try {
    run(value)();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as InvalidInputError).fieldErrors.map((e) => e.field);
  }
  return [];
}

describe('StrictValidationPipe', () => {
  it('accepts declared fields in nested DTOs', () => {
    expect(fieldsOf({ line: { tokens: 1 }, lines: [{ tokens: 2 }] })).toEqual([]);
  });

  it('refuses inherited names as undeclared fields in nested objects and arrays of them', () => {
    expect(fieldsOf({ line: { tokens: 1, hasOwnProperty: 1 } })).toEqual(['line.hasOwnProperty']);
    expect(fieldsOf({ lines: [{ tokens: 1 }, { tokens: 1, valueOf: 1 }] })).toEqual([
      'lines[1].valueOf',
    ]);
    expect(fieldsOf({ toString: 'x' })).toEqual(['toString']);
  });

  it('refuses nesting past the limit before the DTO sees it', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(run({ line: deep })).toThrow(/nested deeper than 32/);
  });
});

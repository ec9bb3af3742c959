import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsUUID } from 'class-validator';

/** UUIDs are case-insensitive (RFC 4122): one user must never split in two by letter case. */
export const lowerCaseUuid = Transform(({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.toLowerCase() : value,
);

export class UserIdParams {
  @ApiProperty({ format: 'uuid', description: "The user's id (any RFC 4122 UUID)." })
  @lowerCaseUuid
  @IsUUID('all')
  user_id!: string;
}

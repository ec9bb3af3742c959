import { UuidProperty } from './money-fields.js';

export class UserIdParams {
  @UuidProperty("The user's id (any RFC 4122 UUID).")
  user_id!: string;
}

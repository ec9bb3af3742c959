export class HealthDto {
  /** Always `ok` with 200; failures are problem details with 503. */
  status!: 'ok';
}

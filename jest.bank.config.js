/**
 * `npm run test:bank`: the bank workload under faults (test/bank/), against the built service
 * (dist/, built by the npm script first). It runs its own PostgreSQL, so no globalSetup.
 */
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/test/bank/**/*.bank-spec.ts'],
  globalSetup: undefined,
  globalTeardown: undefined,
  testTimeout: 300_000,
  maxWorkers: 1,
  // fetch's keep-alive sockets to the stopped services would hold jest open for a while.
  forceExit: true,
};

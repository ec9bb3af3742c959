/**
 * jest in ESM mode (NestJS 12 is ESM-only): run through `npm test`, which starts node with
 * --experimental-vm-modules. One embedded PostgreSQL (or DATABASE_URL) per run, started in
 * globalSetup; each e2e file makes its own fresh database with the real migrations.
 */

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        useESM: true,
        tsconfig: 'tsconfig.spec.json',
        astTransformers: { before: ['<rootDir>/test/support/swagger-plugin.cjs'] },
      },
    ],
    // CommonJS dependencies that require() ESM-only packages (@fastify/static needs
    // content-disposition 3, light-my-request needs cookie 2): compiled to CommonJS for jest.
    '/node_modules/(content-disposition|cookie)/.+\\.js$': [
      'babel-jest',
      { plugins: ['@babel/plugin-transform-modules-commonjs'] },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition|cookie)/)'],
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};

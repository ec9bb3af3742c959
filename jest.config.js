/**
 * jest in ESM mode (NestJS 12 is ESM-only): run through `npm test`, which starts node with
 * --experimental-vm-modules. One embedded PostgreSQL (or DATABASE_URL) per run, started in
 * globalSetup; each e2e file makes its own fresh database with the real migrations.
 */
import vm from 'node:vm';

// CommonJS dependencies that require() ESM-only packages (@fastify/static needs
// content-disposition 3, light-my-request needs cookie 2). On Node 24.9+ jest loads such a
// require()d ESM package natively (its own test for that is the one below), and compiling it to
// CommonJS first breaks it ("exports is not defined"); on older Node it must be compiled.
const ESM_REQUIRED_BY_CJS = '(content-disposition|cookie)';
const nativeRequireEsm = typeof vm.SourceTextModule?.prototype.hasAsyncGraph === 'function';
const compileToCommonJs = nativeRequireEsm
  ? {}
  : {
      [`/node_modules/${ESM_REQUIRED_BY_CJS}/.+\\.js$`]: [
        'babel-jest',
        { plugins: ['@babel/plugin-transform-modules-commonjs'] },
      ],
    };

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
    ...compileToCommonJs,
  },
  transformIgnorePatterns: nativeRequireEsm
    ? ['/node_modules/']
    : [`/node_modules/(?!${ESM_REQUIRED_BY_CJS}/)`],
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};

/** `npm run test:contract`: every operation driven through Prism's validation proxy. */
import base from './jest.config.js';

export default { ...base, testMatch: ['<rootDir>/test/contract/**/*.contract-spec.ts'] };

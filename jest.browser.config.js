/** `npm run test:browser`: Swagger UI driven in Debian's Chromium against the built service. */
import base from './jest.config.js';

export default { ...base, testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'] };

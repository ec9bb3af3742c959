/** `npm run deploy:check`: the Dockerfile and the Kubernetes manifests, checked without Docker or a
 *  cluster; plus the production install (`npm ci --omit=dev`) booting against PostgreSQL. */
import base from './jest.config.js';

export default { ...base, testMatch: ['<rootDir>/test/deploy/**/*.deploy-spec.ts'] };

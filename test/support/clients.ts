import { randomBytes } from 'node:crypto';

/**
 * A client configuration for tests that run the service as a process: one client with every scope
 * and a fresh token, in the issue's `BILLING_CLIENTS` format (`name:scopes:token;...`). A service
 * built without authentication ignores it; one with authentication requires the token.
 */
export function testClient(name = 'e2e') {
  const token = randomBytes(30).toString('base64url');
  return {
    name,
    token,
    env: { BILLING_CLIENTS: `${name}:read,charge,credit:${token}` },
    headers: { authorization: `Bearer ${token}` },
  };
}

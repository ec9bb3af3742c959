import { timingSafeEqual } from 'node:crypto';
import { type ClientCredential, tokenDigest } from '../../config/clients.js';

/**
 * The configured clients' tokens, kept as SHA-256 digests. A presented token is hashed and compared
 * with every digest in constant time (equal lengths, no early exit), so the time taken says nothing
 * about how close a guess was, nor which client matched.
 */
export class Credentials {
  constructor(private readonly clients: readonly ClientCredential[]) {}

  find(token: string): ClientCredential | undefined {
    const digest = tokenDigest(token);
    let found: ClientCredential | undefined;
    for (const client of this.clients) {
      if (timingSafeEqual(client.tokenDigest, digest)) found = client;
    }
    return found;
  }
}

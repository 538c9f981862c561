import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { UnauthorizedError } from '@pagefleet/shared';

const digest = (key: string) => createHash('sha256').update(key).digest();

/**
 * `Authorization: Bearer <key>` against API_KEYS. Keys are compared as SHA-256 digests (equal
 * lengths) with timingSafeEqual, and every key is compared whichever matches, so the time taken
 * says nothing about any key. The caller's digest goes to `res.locals.client`, to scope what is
 * stored per client (idempotency keys).
 */
export function requireApiKey(keys: readonly string[]): RequestHandler {
  const digests = keys.map(digest);
  return (req, res, next) => {
    const token = /^Bearer +(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
    const given = digest(token ?? '');
    let valid = false;
    for (const known of digests) valid = timingSafeEqual(known, given) || valid;
    if (!token || !valid) {
      res.set('WWW-Authenticate', 'Bearer realm="pagefleet"');
      throw new UnauthorizedError(token ? 'the API key is not valid' : 'send an API key: Authorization: Bearer <key>');
    }
    res.locals.client = given.toString('hex');
    next();
  };
}

import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { UnauthorizedError } from '@pagefleet/shared';

const digest = (key: string) => createHash('sha256').update(key).digest();

/** The key a request presents: a bearer token, or (where `basic` allows it) a Basic password. */
function presentedKey(header: string, basic: boolean): string | undefined {
  const bearer = /^Bearer +(\S+)$/i.exec(header)?.[1];
  if (bearer || !basic) return bearer;
  const encoded = /^Basic +(\S+)$/i.exec(header)?.[1];
  if (!encoded) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  return decoded.slice(decoded.indexOf(':') + 1) || undefined;
}

/**
 * `Authorization: Bearer <key>` against API_KEYS. Keys are compared as SHA-256 digests (equal
 * lengths) with timingSafeEqual, and every key is compared whichever matches, so the time taken
 * says nothing about any key. The caller's digest goes to `res.locals.client`, to scope what is
 * stored per client (idempotency keys). With `basic`, a browser may instead send the key as the
 * password of HTTP Basic authentication (any user name), which it asks its user for.
 */
export function requireApiKey(keys: readonly string[], { basic = false } = {}): RequestHandler {
  const digests = keys.map(digest);
  return (req, res, next) => {
    const token = presentedKey(req.get('authorization') ?? '', basic);
    const given = digest(token ?? '');
    let valid = false;
    for (const known of digests) valid = timingSafeEqual(known, given) || valid;
    if (!token || !valid) {
      res.set(
        'WWW-Authenticate',
        basic ? 'Basic realm="pagefleet admin", charset="UTF-8"' : 'Bearer realm="pagefleet"',
      );
      throw new UnauthorizedError(token ? 'the API key is not valid' : 'send an API key: Authorization: Bearer <key>');
    }
    res.locals.client = given.toString('hex');
    next();
  };
}

import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { ForbiddenError, UnauthorizedError } from '@pagefleet/shared';

const digest = (key: string) => createHash('sha256').update(key).digest();

/** The digest of the caller's API key (set by requireApiKey); undefined where the API is open. */
export const clientOf = (res: Response): string | undefined =>
  typeof res.locals.client === 'string' ? res.locals.client : undefined;

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
 * Whether `given` (a digest) is one of `digests`: compared as SHA-256 digests (equal lengths)
 * with timingSafeEqual, every one whichever matches, so the time taken says nothing about any key.
 */
function matches(digests: readonly Buffer[], given: Buffer): boolean {
  let valid = false;
  for (const known of digests) valid = timingSafeEqual(known, given) || valid;
  return valid;
}

export interface KeyOptions {
  /** A browser may send the key as the password of HTTP Basic authentication (any user name). */
  basic?: boolean;
  /** Keys that are valid but not enough here: 403 instead of 401. */
  insufficient?: readonly string[];
}

/**
 * `Authorization: Bearer <key>` against `keys`. The caller's digest goes to `res.locals.client`,
 * to scope what is stored per client (documents, idempotency keys). With `basic`, the browser asks
 * its user for the key.
 */
export function requireApiKey(
  keys: readonly string[],
  { basic = false, insufficient = [] }: KeyOptions = {},
): RequestHandler {
  const digests = keys.map(digest);
  const others = insufficient.map(digest);
  return (req, res, next) => {
    const token = presentedKey(req.get('authorization') ?? '', basic);
    const given = digest(token ?? '');
    if (token && matches(digests, given)) {
      res.locals.client = given.toString('hex');
      next();
      return;
    }
    if (token && matches(others, given)) {
      throw new ForbiddenError('this route needs an administrator key (ADMIN_API_KEYS)');
    }
    res.set('WWW-Authenticate', basic ? 'Basic realm="pagefleet admin", charset="UTF-8"' : 'Bearer realm="pagefleet"');
    throw new UnauthorizedError(token ? 'the API key is not valid' : 'send an API key: Authorization: Bearer <key>');
  };
}

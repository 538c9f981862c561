import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { ForbiddenError, keyDigest, UnauthorizedError } from '@pagefleet/shared';

/**
 * The caller's tenant (set by requireApiKey): it owns what it submits, whichever of its keys is
 * used. Undefined where the API is open.
 */
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
 * Which of `digests` `given` is: compared as SHA-256 digests (equal lengths) with
 * timingSafeEqual, every one whichever matches, so the time taken says nothing about any key.
 */
function match<T>(digests: ReadonlyArray<readonly [Buffer, T]>, given: Buffer): T | undefined {
  let found: T | undefined;
  for (const [known, value] of digests) if (timingSafeEqual(known, given)) found = value;
  return found;
}

export interface KeyOptions {
  /** A browser may send the key as the password of HTTP Basic authentication (any user name). */
  basic?: boolean;
  /** Digests of keys that are valid but not enough here: 403 instead of 401. */
  insufficient?: Iterable<string>;
}

/**
 * `Authorization: Bearer <key>` against `owners` (key digests, see `keyDigest`, with the tenant
 * each belongs to). The caller's tenant goes to `res.locals.client`, to scope what is stored per
 * tenant (documents, idempotency keys). With `basic`, the browser asks its user for the key.
 */
export function requireApiKey(
  owners: ReadonlyMap<string, string>,
  { basic = false, insufficient = [] }: KeyOptions = {},
): RequestHandler {
  const digests = [...owners].map(([digest, owner]) => [Buffer.from(digest, 'hex'), owner] as const);
  const others = [...insufficient].map((digest) => [Buffer.from(digest, 'hex'), true] as const);
  return (req, res, next) => {
    const token = presentedKey(req.get('authorization') ?? '', basic);
    const given = Buffer.from(keyDigest(token ?? ''), 'hex');
    const owner = token ? match(digests, given) : undefined;
    if (owner !== undefined) {
      res.locals.client = owner;
      next();
      return;
    }
    if (token && match(others, given)) {
      throw new ForbiddenError('this route needs an administrator key (ADMIN_API_KEYS)');
    }
    res.set('WWW-Authenticate', basic ? 'Basic realm="pagefleet admin", charset="UTF-8"' : 'Bearer realm="pagefleet"');
    throw new UnauthorizedError(token ? 'the API key is not valid' : 'send an API key: Authorization: Bearer <key>');
  };
}

import { createHash } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { RedisClient } from '@pagefleet/shared';
import { ConflictError, InvalidRequestError, UnavailableError, type DocumentState } from '@pagefleet/shared';
import { clientOf } from '../auth.js';

const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** Marks a key whose first request is still running; it expires in case that request's API died. */
const PENDING = 'pending';
const PENDING_TTL_SECONDS = 3600;

// Deletes the key only while it is still pending: never a job id a finished request stored.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface IdempotencyDeps {
  redis: RedisClient;
  prefix: string;
  ttlSeconds: number;
  /** The document a previous request created, if it still exists. */
  findDocument(id: string, client: string | undefined): Promise<DocumentState | undefined>;
  /** The 202 answer for a document, the same for the first request and its repeats. */
  accepted(res: Response, doc: Pick<DocumentState, 'id' | 'status' | 'pageCount' | 'createdAt'>): void;
}

/** What the submission route calls once the job exists, so that repeats return it. */
export type IdempotencyRecord = (jobId: string) => Promise<void>;

/**
 * `Idempotency-Key` on POST /v1/jobs: the first request with a key creates the job, and a
 * repeat within RESULT_TTL (the client retrying after a timeout) gets the same job back,
 * marked `Idempotent-Replayed: true`, without its upload being stored or queued again. Keys are
 * scoped per API key. A repeat while the first is still running is 409; a first request that
 * fails frees its key.
 */
export function idempotency(deps: IdempotencyDeps): RequestHandler {
  return async (req, res, next) => {
    const value = req.get(IDEMPOTENCY_HEADER);
    if (value === undefined) return next();
    if (!/^[\x21-\x7e]{1,255}$/.test(value)) {
      throw new InvalidRequestError(`${IDEMPOTENCY_HEADER} must be 1 to 255 printable ASCII characters`);
    }
    const scope = clientOf(res) ?? '';
    const key = `${deps.prefix}:idempotency:${createHash('sha256').update(`${scope}\n${value}`).digest('hex')}`;
    let claimed: string | null;
    let existing: string | null;
    try {
      claimed = await deps.redis.set(key, PENDING, 'EX', PENDING_TTL_SECONDS, 'NX');
      existing = claimed ? null : await deps.redis.get(key);
    } catch (err) {
      throw new UnavailableError(`the job store is unreachable (${(err as Error).message}); retry shortly`);
    }
    if (existing === PENDING) {
      throw new ConflictError(
        `a request with this ${IDEMPOTENCY_HEADER} is still being handled; retry once it has answered`,
      );
    }
    const previous = existing ? await deps.findDocument(existing, clientOf(res)) : undefined;
    if (previous) {
      res.set('Idempotent-Replayed', 'true');
      deps.accepted(res, previous);
      return;
    }
    if (!claimed) await deps.redis.set(key, PENDING, 'EX', PENDING_TTL_SECONDS);
    let recorded = false;
    const record: IdempotencyRecord = async (jobId) => {
      await deps.redis.set(key, jobId, 'EX', deps.ttlSeconds);
      recorded = true;
    };
    res.locals.idempotency = record;
    // On 'finish', before the client can read the answer and retry (commands on one connection
    // keep their order); on 'close' for a request that ended without an answer.
    let released = false;
    const release = () => {
      if (recorded || released) return;
      released = true;
      deps.redis.eval(RELEASE, 1, key, PENDING).catch(() => undefined);
    };
    res.once('finish', release).once('close', release);
    next();
  };
}

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { RequestHandler, Response } from 'express';
import type { RedisClient, Replay } from '@pagefleet/shared';
import { ConflictError, InvalidRequestError, unavailable, type DocumentState } from '@pagefleet/shared';
import { clientOf } from '../auth.js';

const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/**
 * Marks a key whose first request is still running. It lives one lease (INGEST_LEASE_MS) and the
 * request renews it while it runs, so a key whose API died is free again one lease later.
 */
const PENDING = 'pending';

// Renews the key only while it is still pending: never a job id a finished request stored.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

// Deletes the key only while it is still pending.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// Takes over a key whose document no longer exists (or that expired: ''), unless another
// request took it first.
const TAKE_OVER = `
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

export interface IdempotencyDeps {
  redis: RedisClient;
  prefix: string;
  ttlSeconds: number;
  leaseMs: number;
  /** The document a previous request created, if it still exists. */
  findDocument(id: string, client: string | undefined): Promise<DocumentState | undefined>;
}

/** What the submission route learns of a request that carries an Idempotency-Key. */
export interface IdempotentRequest {
  /** The document an earlier request with this key created, and what that request sent. */
  earlier?: { doc: DocumentState; fingerprint: string };
  /** What accepting a new document records under this key, in the same step. */
  replay(id: string, fingerprint: string): Replay;
}

/** A key's value once its document is accepted: the job id and what the request sent. */
const recorded = (id: string, fingerprint: string) => `${id} ${fingerprint}`;

function parseRecorded(value: string): { id: string; fingerprint: string } {
  const [id = '', fingerprint = ''] = value.split(' ');
  return { id, fingerprint };
}

/**
 * What a submission sent, as a digest: its options and every file's bytes, in order. Two
 * requests with the same key and different digests are different requests.
 */
export async function fingerprint(options: object, files: ReadonlyArray<{ path: string }>): Promise<string> {
  const digest = createHash('sha256').update(JSON.stringify(options, Object.keys(options).sort()));
  for (const file of files) {
    const hash = createHash('sha256');
    await pipeline(createReadStream(file.path), hash);
    digest.update(`\n${hash.digest('hex')}`);
  }
  return digest.digest('hex');
}

/**
 * `Idempotency-Key` on POST /v1/jobs: the first request with a key creates the job, and a repeat
 * within RESULT_TTL (the client retrying after a timeout or a crash) gets the same job back,
 * marked `Idempotent-Replayed: true`, once the route has checked that it sends the same files and
 * options (else 422). Keys are scoped per API key. A repeat while the first is still running is
 * 409; a first request that fails, or whose API dies, frees its key (at once, or one lease later).
 * The key is recorded with its document when the document is accepted, in one step.
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
    const replay = (id: string, digest: string): Replay => ({
      key,
      value: recorded(id, digest),
      ttlSeconds: deps.ttlSeconds,
    });
    const stillRunning = () =>
      new ConflictError(`a request with this ${IDEMPOTENCY_HEADER} is still being handled; retry once it has answered`);
    try {
      if ((await deps.redis.set(key, PENDING, 'PX', deps.leaseMs, 'NX')) !== 'OK') {
        const existing = await deps.redis.get(key);
        if (existing === PENDING) throw stillRunning();
        const earlier = existing === null ? undefined : parseRecorded(existing);
        const doc = earlier && (await deps.findDocument(earlier.id, clientOf(res)));
        if (doc) {
          res.locals.idempotency = {
            earlier: { doc, fingerprint: earlier.fingerprint },
            replay,
          } satisfies IdempotentRequest;
          return next();
        }
        // The document expired, or its ingest died before it was accepted: this request is the first.
        if ((await deps.redis.eval(TAKE_OVER, 1, key, existing ?? '', PENDING, deps.leaseMs)) !== 1) {
          throw stillRunning();
        }
      }
    } catch (err) {
      if (err instanceof ConflictError) throw err;
      throw unavailable('the job store is unreachable', err);
    }
    res.locals.idempotency = { replay } satisfies IdempotentRequest;
    const renewal = setInterval(
      () => void deps.redis.eval(RENEW, 1, key, PENDING, deps.leaseMs).catch(() => undefined),
      deps.leaseMs / 3,
    );
    renewal.unref();
    // On 'finish', before the client can read the answer and retry (commands on one connection
    // keep their order); on 'close' for a request that ended without an answer. An accepted
    // document has replaced the pending mark already, which this leaves alone.
    let released = false;
    const release = () => {
      clearInterval(renewal);
      if (released) return;
      released = true;
      deps.redis.eval(RELEASE, 1, key, PENDING).catch(() => undefined);
    };
    res.once('finish', release).once('close', release);
    next();
  };
}

/** The request's Idempotency-Key, as the middleware left it (undefined: none was sent). */
export const idempotentRequest = (res: Response) => res.locals.idempotency as IdempotentRequest | undefined;

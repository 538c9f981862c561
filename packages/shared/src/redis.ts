import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

/** A connection to Redis in any of its forms: one server (alone or found by Sentinel), or a cluster. */
export type RedisClient = Redis | Cluster;

export type RedisRole = { kind: 'producer'; commandTimeoutMs: number } | { kind: 'consumer' };

/** The settings that say where Redis is. */
export type RedisTarget = Pick<
  Config,
  | 'REDIS_URL'
  | 'REDIS_SENTINELS'
  | 'REDIS_SENTINEL_MASTER'
  | 'REDIS_SENTINEL_PASSWORD'
  | 'REDIS_CLUSTER_NODES'
  | 'REDIS_USERNAME'
  | 'REDIS_PASSWORD'
  | 'REDIS_TLS'
>;

/** Where Redis is when nothing says: what `npm start` runs. */
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const RETRY_MS = { step: 200, most: 5000 };
const retry = (times: number) => Math.min(times * RETRY_MS.step, RETRY_MS.most);

/**
 * A primary demoted in a failover stays up as a replica and refuses writes: reconnect (Sentinel
 * then names the new primary; a managed service's endpoint points at it) and send the command
 * again (2).
 */
const reconnectIfReadOnly = (err: Error) => (err.message.includes('READONLY') ? 2 : false);

/**
 * The one way API, workers and scripts connect. Producers (the API) fail fast while Redis is down,
 * paused or failing over, so a request answers 503 instead of hanging: `commandTimeoutMs` bounds
 * each command. Consumers (workers) block on queues and must retry forever.
 *
 * With Sentinel the client asks the sentinels for the primary on every (re)connect; a node that
 * answers as a replica (a demoted primary) is left. In a cluster, ioredis follows MOVED and
 * re-reads the slots when a replica takes over.
 */
export function createRedis(target: RedisTarget, role: RedisRole, log: Logger): RedisClient {
  const consumer = role.kind === 'consumer';
  const options: RedisOptions = {
    enableOfflineQueue: consumer,
    maxRetriesPerRequest: consumer ? null : 1,
    retryStrategy: retry,
    reconnectOnError: reconnectIfReadOnly,
    ...(role.kind === 'producer' ? { commandTimeout: role.commandTimeoutMs } : {}),
  };
  const credentials: RedisOptions = {
    ...(target.REDIS_USERNAME ? { username: target.REDIS_USERNAME } : {}),
    ...(target.REDIS_PASSWORD ? { password: target.REDIS_PASSWORD } : {}),
    ...(target.REDIS_TLS ? { tls: {} } : {}),
  };
  const redis = target.REDIS_CLUSTER_NODES
    ? new Cluster(target.REDIS_CLUSTER_NODES, clusterOptions(options, credentials))
    : target.REDIS_SENTINELS
      ? new Redis({
          ...options,
          ...credentials,
          sentinels: target.REDIS_SENTINELS,
          name: target.REDIS_SENTINEL_MASTER,
          ...(target.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: target.REDIS_SENTINEL_PASSWORD } : {}),
          ...(target.REDIS_TLS ? { sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
          // Every sentinel unreachable is an outage like any other: keep asking. No
          // failoverDetector: its +switch-master arriving while the client reconnects ends the
          // client for good (ioredis 6.0: the connect under way is aborted, status 'end'), which
          // the failover test saw in 2 runs of 5; a demoted primary's READONLY reconnects instead.
          sentinelRetryStrategy: retry,
        })
      : new Redis(target.REDIS_URL ?? DEFAULT_REDIS_URL, options);
  redis.on('error', (err) => log.warn({ err }, 'redis connection error'));
  return redis;
}

function clusterOptions(options: RedisOptions, credentials: RedisOptions): ClusterOptions {
  return {
    enableOfflineQueue: options.enableOfflineQueue ?? true,
    clusterRetryStrategy: retry,
    // Managed clusters announce nodes by names their certificates carry: resolve them at connect.
    ...(credentials.tls ? { dnsLookup: (address, lookup) => lookup(null, address) } : {}),
    redisOptions: { ...options, ...credentials },
  };
}

/** ioredis' error for a command that got no reply within its `commandTimeout`: Redis is paused or cut off. */
export const isRedisTimeout = (err: unknown) => err instanceof Error && err.message === 'Command timed out';

/**
 * Replies of a Redis that is up but takes no writes: full under `noeviction` (OOM), a replica or a
 * demoted primary (READONLY), a disk that fails its snapshots (MISCONF), still loading its data
 * (LOADING), too few replicas for `min-replicas-to-write` (NOREPLICAS). EXECABORT is a transaction
 * Redis threw away because one of its commands was refused so (reads in a transaction too, when full).
 */
const REFUSAL = /^(OOM|READONLY|MISCONF|LOADING|NOREPLICAS|EXECABORT) /;

/** Whether an error is Redis refusing writes for now: an outage to wait out, never a failure of the work. */
export const isWriteRefusal = (err: unknown) => err instanceof Error && REFUSAL.test(err.message);

/**
 * Whether Redis takes a write within `timeoutMs`: a short-lived key, so that `/ready` fails while
 * Redis answers PING but refuses every write. Never throws.
 */
export async function probeWrites(redis: RedisClient, key: string, timeoutMs: number): Promise<boolean> {
  return (await replyWithin(redis.set(key, Date.now(), 'PX', 10_000), timeoutMs)) === 'OK';
}

/**
 * A Redis reply if it comes within `timeoutMs`, else undefined; never throws. For connections
 * that wait for Redis forever (workers') where a caller must not.
 */
export async function replyWithin<T>(reply: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  const timeout = new Promise<undefined>((resolve) => setTimeout(resolve, timeoutMs, undefined).unref());
  return Promise.race([reply.catch(() => undefined), timeout]);
}

/** True when Redis answers a PING within `timeoutMs`; never throws. */
export async function pingRedis(redis: RedisClient, timeoutMs: number): Promise<boolean> {
  return (await replyWithin(redis.ping(), timeoutMs)) === 'PONG';
}

/**
 * BullMQ needs `maxmemory-policy noeviction`: under any other policy a full Redis silently evicts
 * keys, and an evicted key is a lost job. Managed services may refuse CONFIG; then nothing is said.
 */
export async function warnUnlessNoEviction(redis: RedisClient, log: Logger): Promise<string | undefined> {
  const reply = await redis.config('GET', 'maxmemory-policy').catch(() => undefined);
  const policy = reply?.[1];
  if (policy !== undefined && policy !== 'noeviction') {
    log.warn(
      { policy },
      'redis maxmemory-policy is not noeviction: a full Redis will evict queued jobs; set it to noeviction',
    );
  }
  return policy;
}

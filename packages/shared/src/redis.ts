import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

export type RedisRole = { kind: 'producer'; commandTimeoutMs: number } | { kind: 'consumer' };

/**
 * Producers (the API) fail fast while Redis is down or paused, so a request answers 503 instead
 * of hanging: `commandTimeoutMs` bounds each command. Consumers (workers) block on queues and
 * must retry forever.
 */
export function createRedis(url: string, role: RedisRole, log: Logger): Redis {
  const consumer = role.kind === 'consumer';
  const redis = new Redis(url, {
    enableOfflineQueue: consumer,
    maxRetriesPerRequest: consumer ? null : 1,
    retryStrategy: (times) => Math.min(times * 200, 5000),
    ...(role.kind === 'producer' ? { commandTimeout: role.commandTimeoutMs } : {}),
  });
  redis.on('error', (err) => log.warn({ err }, 'redis connection error'));
  return redis;
}

/** ioredis' error for a command that got no reply within its `commandTimeout`: Redis is paused or cut off. */
export const isRedisTimeout = (err: unknown) => err instanceof Error && err.message === 'Command timed out';

/** True when Redis answers a PING within `timeoutMs`; never throws. */
export async function pingRedis(redis: Redis, timeoutMs: number): Promise<boolean> {
  const timeout = new Promise<false>((resolve) => setTimeout(resolve, timeoutMs, false).unref());
  return Promise.race([
    redis.ping().then(
      (reply) => reply === 'PONG',
      () => false,
    ),
    timeout,
  ]);
}

/** Resolves once the connection is usable, or rejects after `timeoutMs`. */
export async function waitForRedis(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}

/**
 * BullMQ needs `maxmemory-policy noeviction`: under any other policy a full Redis silently evicts
 * keys, and an evicted key is a lost job. Managed services may refuse CONFIG; then nothing is said.
 */
export async function warnUnlessNoEviction(redis: Redis, log: Logger): Promise<string | undefined> {
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

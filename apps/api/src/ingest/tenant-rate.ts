import type { RequestHandler } from 'express';
import { TenantLimitError, unavailable, type RedisClient, type TenantDirectory } from '@pagefleet/shared';
import { clientOf } from '../auth.js';

const MINUTE_MS = 60_000;

export interface TenantRateDeps {
  redis: RedisClient;
  prefix: string;
  tenants: TenantDirectory;
}

/**
 * Each tenant's documents per minute (its `documentsPerMinute`, else TENANT_DOCUMENTS_PER_MINUTE),
 * in windows of the clock's minute shared by every API process through Redis. Runs before the
 * upload is read: a submission past the limit is refused unread (`429` with `Retry-After`: the
 * seconds left in the minute), and another tenant's count is never touched. The slot is taken
 * here and given back when the request does not end in a new document (refused, failed, or a
 * replay of an earlier one), so only accepted documents count.
 */
export function tenantRate({ redis, prefix, tenants }: TenantRateDeps): RequestHandler {
  return async (_req, res, next) => {
    const tenant = tenants.named(clientOf(res));
    const now = Date.now();
    const window = Math.floor(now / MINUTE_MS);
    const key = `${prefix}:tenant-minute:${tenant.name}:${window}`;
    let count: number;
    try {
      const replies = await redis
        .multi()
        .incr(key)
        .pexpire(key, 2 * MINUTE_MS)
        .exec();
      count = Number(replies?.[0]?.[1]);
    } catch (err) {
      throw unavailable('the job queue is unreachable', err);
    }
    const giveBack = () => redis.decr(key).catch(() => undefined);
    if (count > tenant.documentsPerMinute) {
      await giveBack();
      throw new TenantLimitError(
        `tenant ${tenant.name} has submitted ${tenant.documentsPerMinute} documents this minute, its limit; retry in the next`,
        Math.max(1, Math.ceil(((window + 1) * MINUTE_MS - now) / 1000)),
      );
    }
    res.once('close', () => {
      if (res.statusCode !== 202 || res.get('Idempotent-Replayed')) void giveBack();
    });
    next();
  };
}

import type { Engine, ReadMethod, TenantUsage } from '@pagefleet/contract';
import type { RedisClient } from './redis.js';

/**
 * The one owner of usage: counters per tenant in Redis (a hash a tenant, and the set of tenants),
 * added to by workers as each attempt ends, read by the API. Counts since Redis last lost its
 * data; the workers' metrics carry the same counts for a Prometheus that keeps them longer.
 */
export class UsageStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(tenant: string): string {
    return `${this.prefix}:usage:${tenant}`;
  }

  private get tenantsKey(): string {
    return `${this.prefix}:usage:tenants`;
  }

  /** One attempt at a tenant's page ended after `seconds`; `page` says how, where it completed. */
  async record(tenant: string, seconds: number, page?: { method: ReadMethod; engine?: Engine | undefined }) {
    const multi = this.redis.multi().sadd(this.tenantsKey, tenant);
    multi.hincrby(this.key(tenant), 'workerMs', Math.round(seconds * 1000));
    if (page) {
      multi.hincrby(this.key(tenant), `method:${page.method}`, 1);
      if (page.engine) multi.hincrby(this.key(tenant), `engine:${page.engine}`, 1);
    }
    await multi.exec();
  }

  async read(tenant: string): Promise<TenantUsage> {
    return usageOf(tenant, await this.redis.hgetall(this.key(tenant)));
  }

  /** Every tenant that has used the service, by name. */
  async all(): Promise<TenantUsage[]> {
    const tenants = (await this.redis.smembers(this.tenantsKey)).sort();
    const pipeline = this.redis.pipeline();
    for (const tenant of tenants) pipeline.hgetall(this.key(tenant));
    const replies = (await pipeline.exec()) ?? [];
    return tenants.map((tenant, i) => usageOf(tenant, (replies[i]?.[1] ?? {}) as Record<string, string>));
  }
}

function usageOf(tenant: string, hash: Record<string, string>): TenantUsage {
  const usage: TenantUsage = { tenant, pages: 0, byMethod: {}, byEngine: {}, workerSeconds: 0 };
  for (const [field, value] of Object.entries(hash)) {
    const count = Number(value);
    if (field === 'workerMs') usage.workerSeconds = count / 1000;
    else if (field.startsWith('method:')) {
      usage.byMethod[field.slice('method:'.length) as ReadMethod] = count;
      usage.pages += count;
    } else if (field.startsWith('engine:')) usage.byEngine[field.slice('engine:'.length) as Engine] = count;
  }
  return usage;
}

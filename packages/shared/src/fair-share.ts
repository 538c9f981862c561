import { Job, type Queue } from 'bullmq';
import type { HeartbeatStore } from './heartbeats.js';
import type { PageJob } from './jobs.js';
import { pageJobId, type PageQueueName } from './queues.js';
import type { RedisClient } from './redis.js';

/**
 * A held page is queued in BullMQ as delayed by this much, so that no worker takes it before it is
 * released (promoted); were its release ever lost, it would still run then, never be lost. A
 * year keeps BullMQ's delayed score (due time × 4096) within a double's exact integers.
 */
export const HOLD_DELAY_MS = 365 * 24 * 3600 * 1000;

/** A page being released that is still not promoted after this long lost its releaser: promoted again. */
const STALE_RELEASE_MS = 30_000;

/** How long the fleet's slots, read from the heartbeats, are taken as they were. */
const SLOTS_TTL_MS = 2000;

/** Pages held in one script: ZADD's arguments stay far below Lua's stack limit. */
const HOLD_BATCH = 1000;

/** Batch pages come after every interactive page of their tenant; within each, by page index. */
const BATCH_BAND = 2 ** 32;

/** Digits of the hold sequence that prefixes a held member: equal scores keep their arrival order. */
const SEQUENCE_DIGITS = 16;

/**
 * Lua, the start of both scripts, whose first six KEYS it reads: tenants (zset tenant → clock),
 * weights (hash), virtual time, finish (hash tenant → clock after its last page), releasing (zset
 * id → when), BullMQ's delayed set. `takeNext` takes the first page of `tenant`'s list (`held`)
 * whose job is still delayed, passing over those that are not (their document was canceled, or a
 * split retried listed them twice and they were promoted already) at no cost to the tenant, and
 * notes it as being released at `now`. The tenant's clock moves on from `start` by 1 / weight
 * where a page was taken; a tenant whose list is empty leaves the turn, its clock kept in finish.
 * Returns the id taken, or false.
 */
const TAKE_NEXT = `
local function takeNext(tenant, held, start, now)
  local taken = false
  while not taken do
    local first = redis.call('ZRANGE', held, 0, 0)
    if #first == 0 then break end
    redis.call('ZREM', held, first[1])
    local id = string.sub(first[1], ${SEQUENCE_DIGITS + 2})
    if redis.call('ZSCORE', KEYS[6], id) then
      redis.call('ZADD', KEYS[5], now, id)
      taken = id
    end
  end
  local after = start + (taken and 1 / tonumber(redis.call('HGET', KEYS[2], tenant) or '1') or 0)
  if redis.call('EXISTS', held) == 0 then
    redis.call('ZREM', KEYS[1], tenant)
    redis.call('HDEL', KEYS[2], tenant)
    redis.call('HSET', KEYS[4], tenant, after)
  else
    redis.call('ZADD', KEYS[1], after, tenant)
  end
  return taken
end`;

/**
 * Holds one tenant's pages of one queue. A tenant that had none held joins the turn at the
 * queue's virtual time, or where its last page left its clock if that is later: it gains nothing
 * for having been idle, nor for having emptied its list a moment ago (start-time fair queuing).
 * One whose turn is due at once (it joins at the virtual time: it was served no later than that)
 * has its first page released here, past the slots' count: it is next in any case, and this spares
 * it waiting for a page to be taken before its own is released (a tenant flooding alone re-joins
 * past the virtual time, so this releases at most one page of each tenant per turn).
 * KEYS: the shared six, then held (zset of the tenant's pages), sequence. ARGV: tenant, weight,
 * count, now, then score and job id per page. Returns the id released, if any.
 */
const HOLD = `${TAKE_NEXT}
local count = tonumber(ARGV[3])
local last = redis.call('INCRBY', KEYS[8], count)
local now = tonumber(redis.call('GET', KEYS[3]) or '0')
local joining = not redis.call('ZSCORE', KEYS[1], ARGV[1])
local start = now
if joining then
  start = math.max(now, tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0'))
  redis.call('ZADD', KEYS[1], start, ARGV[1])
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
for i = 1, count do
  local member = string.format('%0${SEQUENCE_DIGITS}d', last - count + i) .. '|' .. ARGV[4 + 2 * i]
  redis.call('ZADD', KEYS[7], ARGV[3 + 2 * i], member)
end
if not joining or start > now then return false end
return takeNext(ARGV[1], KEYS[7], start, ARGV[4])`;

/**
 * Releases as many pages as keep ARGV[1] pages takeable in the queue (waiting, prioritized, or
 * being promoted), each from the tenant of the lowest clock, whose clock then moves on by
 * 1 / weight: start-time fair queuing, one page at a time. The released ids are noted with the
 * time, until promoted; those promoted since the last call are forgotten first. KEYS: the shared
 * six, then BullMQ's wait and prioritized. ARGV: target, now, the prefix of a tenant's held key.
 */
const RELEASE = `${TAKE_NEXT}
for _, id in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
  if not redis.call('ZSCORE', KEYS[6], id) then redis.call('ZREM', KEYS[5], id) end
end
local room = tonumber(ARGV[1]) - redis.call('LLEN', KEYS[7]) - redis.call('ZCARD', KEYS[8]) - redis.call('ZCARD', KEYS[5])
local released = {}
while room > 0 do
  local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if #head == 0 then break end
  local id = takeNext(head[1], ARGV[3] .. head[1], tonumber(head[2]), ARGV[2])
  if id then
    table.insert(released, id)
    room = room - 1
    redis.call('SET', KEYS[3], head[2])
  end
end
return released`;

/**
 * Fair share of the workers between tenants, over BullMQ's page queues. Pages are queued held
 * (delayed, see HOLD_DELAY_MS) and listed per tenant in Redis; only about as many pages as the
 * fleet has slots for a queue are takeable at once, released in turn from the tenants that have
 * pages held, each by its weight. A tenant's page thus waits for about one page of each other
 * tenant, never for everything queued before it, and a tenant alone has every slot. Releases run
 * when pages are queued, when a worker takes a page, and on every worker's tick (which also
 * promotes pages whose releaser died between the two steps). The Dispatcher owns it.
 */
export class FairShare {
  private slots: { at: number; byQueue: Promise<Map<string, number>> } | undefined;
  private readonly rounds = new Map<PageQueueName, Round>();

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly heartbeats: HeartbeatStore,
    private readonly weightOf: (tenant: string) => number,
  ) {}

  /**
   * Lists queued pages as held, each under its tenant, and promotes the first page of a tenant
   * whose turn is due at once (see HOLD). Only once queued: a page released before its job exists
   * would be dropped as canceled. A page queued and never listed (its API died between the two)
   * belongs to a document whose ingest lapses, which removes it.
   */
  async hold(queue: Queue, name: PageQueueName, pages: readonly PageJob[]): Promise<void> {
    const byTenant = new Map<string, PageJob[]>();
    for (const page of pages) {
      const held = byTenant.get(page.tenant) ?? [];
      held.push(page);
      byTenant.set(page.tenant, held);
    }
    for (const [tenant, tenantPages] of byTenant) {
      for (let start = 0; start < tenantPages.length; start += HOLD_BATCH) {
        const batch = tenantPages.slice(start, start + HOLD_BATCH);
        const released = (await this.redis.eval(
          HOLD,
          8,
          ...this.sharedKeys(queue, name),
          this.heldKey(name, tenant),
          this.key(name, 'sequence'),
          tenant,
          this.weightOf(tenant),
          batch.length,
          Date.now(),
          ...batch.flatMap((page) => [heldScore(page), pageJobId(page.documentId, page.page)]),
        )) as string | null;
        if (released) await promote(queue, released);
      }
    }
  }

  /**
   * Releases the pages that keep the queue's takeable pages at the slots the fleet has for it (at
   * least one), and promotes them. One release of a queue runs at a time in a process: a call
   * while one runs makes it go round once more, and shares its count, so a burst of pages taken
   * costs a round or two, not one each.
   */
  release(queue: Queue, name: PageQueueName): Promise<number> {
    const running = this.rounds.get(name);
    if (running) {
      running.again = true;
      return running.promoted;
    }
    const round: Round = { again: true, promoted: Promise.resolve(0) };
    this.rounds.set(name, round);
    round.promoted = this.releaseRounds(queue, name, round).finally(() => this.rounds.delete(name));
    return round.promoted;
  }

  /** Promotes again the pages whose releaser died before promoting them. */
  async promoteStale(queue: Queue, name: PageQueueName): Promise<void> {
    const ids = await this.redis.zrangebyscore(this.key(name, 'releasing'), '-inf', Date.now() - STALE_RELEASE_MS);
    await Promise.all(ids.map((id) => promote(queue, id)));
  }

  private async releaseRounds(queue: Queue, name: PageQueueName, round: Round): Promise<number> {
    const keys = queue.keys as Record<string, string>;
    let promoted = 0;
    while (round.again) {
      round.again = false;
      const target = Math.max(1, await this.fleetSlots(name));
      const ids = (await this.redis.eval(
        RELEASE,
        8,
        ...this.sharedKeys(queue, name),
        keys.wait as string,
        keys.prioritized as string,
        target,
        Date.now(),
        this.heldKey(name, ''),
      )) as string[];
      const outcomes = await Promise.all(ids.map((id) => promote(queue, id)));
      promoted += outcomes.filter(Boolean).length;
    }
    return promoted;
  }

  /** Slots the live workers have for a queue, from their heartbeats, read again every SLOTS_TTL_MS. */
  private async fleetSlots(name: PageQueueName): Promise<number> {
    const now = Date.now();
    if (!this.slots || now - this.slots.at > SLOTS_TTL_MS) {
      this.slots = { at: now, byQueue: this.heartbeats.slotsByQueue() };
      this.slots.byQueue.catch(() => (this.slots = undefined));
    }
    return (await this.slots.byQueue).get(name) ?? 0;
  }

  /** The first KEYS of both scripts, in their order (see TAKE_NEXT). */
  private sharedKeys(queue: Queue, name: PageQueueName): string[] {
    return [
      this.key(name, 'tenants'),
      this.key(name, 'weights'),
      this.key(name, 'clock'),
      this.key(name, 'finish'),
      this.key(name, 'releasing'),
      (queue.keys as Record<string, string>).delayed as string,
    ];
  }

  private key(queue: PageQueueName, part: string): string {
    return `${this.prefix}:fair:${queue}:${part}`;
  }

  private heldKey(queue: PageQueueName, tenant: string): string {
    return `${this.key(queue, 'held')}:${tenant}`;
  }
}

/** A queue's release in progress: whether to go round again, and what it promoted. */
interface Round {
  again: boolean;
  promoted: Promise<number>;
}

/**
 * Promotes a released page. A page no longer delayed was promoted already (a stale sweep beside a
 * slow releaser) or removed since: either way there is nothing to do. A promotion that failed
 * otherwise leaves the page noted as being released, for the stale sweep.
 */
async function promote(queue: Queue, id: string): Promise<boolean> {
  // Promoting needs the job's id only: a handle spares reading the job.
  return new Job(queue, 'page', undefined, {}, id).promote().then(
    () => true,
    () => false,
  );
}

/** A held page's order within its tenant: interactive first, then by its index, as BullMQ's priority. */
function heldScore(page: PageJob): number {
  return (page.priority === 'interactive' ? 0 : BATCH_BAND) + Math.min(page.page, BATCH_BAND - 1);
}

import type { RedisClient } from './redis.js';
import type { WorkerHeartbeat } from '@pagefleet/contract';

/** A worker silent for this many intervals is taken for dead (three: one lost write is no death). */
const MISSED_BEATS = 3;

/** How long after Redis took writes again a silent worker is still not taken for dead. */
const WRITES_RETURNED_WINDOW_MS = 60_000;

const indexKey = (prefix: string) => `${prefix}:workers`;
const writesReturnedKey = (prefix: string) => `${prefix}:writes-returned`;
const beatKey = (prefix: string, id: string) => `${prefix}:worker:${id}`;

/**
 * Heartbeats live in Redis, where every API replica can read them: one key per worker that
 * expires by itself when the worker dies, and a sorted set by last beat to find them.
 */
export class HeartbeatStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly intervalMs: number,
  ) {}

  async beat(heartbeat: WorkerHeartbeat): Promise<void> {
    await this.redis
      .multi()
      .set(beatKey(this.prefix, heartbeat.id), JSON.stringify(heartbeat), 'PX', this.intervalMs * MISSED_BEATS)
      .zadd(indexKey(this.prefix), Date.parse(heartbeat.lastSeen), heartbeat.id)
      .exec();
  }

  /**
   * Milliseconds since the worker's latest beat reached Redis, by Redis' clock (a beat sent while
   * Redis was paused counts from when Redis took it); undefined when the worker is gone.
   */
  async ageMs(id: string): Promise<number | undefined> {
    const left = await this.redis.pttl(beatKey(this.prefix, id));
    return left < 0 ? undefined : Math.max(0, this.intervalMs * MISSED_BEATS - left);
  }

  /**
   * Notes that Redis takes writes again after refusing them: every worker's beats were refused
   * meanwhile, so none of them can be told dead by its last beat until it has beaten again.
   */
  async writesReturned(): Promise<void> {
    await this.redis.set(writesReturnedKey(this.prefix), '1', 'PX', WRITES_RETURNED_WINDOW_MS);
  }

  /** Milliseconds since a worker last saw Redis take writes again after refusing them, if within a minute. */
  async sinceWritesReturnedMs(): Promise<number | undefined> {
    const left = await this.redis.pttl(writesReturnedKey(this.prefix));
    return left < 0 ? undefined : WRITES_RETURNED_WINDOW_MS - left;
  }

  /** A worker that stops cleanly leaves the list at once. */
  async remove(id: string): Promise<void> {
    await this.redis.multi().del(beatKey(this.prefix, id)).zrem(indexKey(this.prefix), id).exec();
  }

  /** Page slots of the live workers, by queue. */
  async slotsByQueue(): Promise<Map<string, number>> {
    const slots = new Map<string, number>();
    for (const worker of await this.list()) {
      for (const { queue, slots: count } of worker.queues) slots.set(queue, (slots.get(queue) ?? 0) + count);
    }
    return slots;
  }

  /** Live workers, most recently seen first; the index forgets the dead as it goes. */
  async list(now = Date.now()): Promise<WorkerHeartbeat[]> {
    const oldest = now - this.intervalMs * MISSED_BEATS;
    await this.redis.zremrangebyscore(indexKey(this.prefix), '-inf', `(${oldest}`);
    const ids = await this.redis.zrevrange(indexKey(this.prefix), 0, -1);
    if (ids.length === 0) return [];
    const beats = await this.redis.mget(ids.map((id) => beatKey(this.prefix, id)));
    return beats.flatMap((beat) => (beat ? [JSON.parse(beat) as WorkerHeartbeat] : []));
  }
}

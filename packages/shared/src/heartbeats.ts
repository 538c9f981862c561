import type { Redis } from 'ioredis';

/** What a live worker says of itself, every HEARTBEAT_INTERVAL_MS; `GET /v1/workers` lists them. */
export interface WorkerHeartbeat {
  id: string;
  host: string;
  pid: number;
  startedAt: string;
  lastSeen: string;
  /** Page slots per queue, and how many are busy now. */
  queues: Array<{ queue: string; slots: number; busy: number }>;
  concurrency: number;
  busy: number;
  /** Pages this process completed since it started. */
  pagesDone: number;
  rssBytes: number;
  memoryBudgetBytes: number;
}

/** A worker silent for this many intervals is taken for dead (three: one lost write is no death). */
const MISSED_BEATS = 3;

const indexKey = (prefix: string) => `${prefix}:workers`;
const beatKey = (prefix: string, id: string) => `${prefix}:worker:${id}`;

/**
 * Heartbeats live in Redis, where every API replica can read them: one key per worker that
 * expires by itself when the worker dies, and a sorted set by last beat to find them.
 */
export class HeartbeatStore {
  constructor(
    private readonly redis: Redis,
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

  /** A worker that stops cleanly leaves the list at once. */
  async remove(id: string): Promise<void> {
    await this.redis.multi().del(beatKey(this.prefix, id)).zrem(indexKey(this.prefix), id).exec();
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

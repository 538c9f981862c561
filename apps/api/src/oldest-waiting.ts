import type { Queue } from 'bullmq';
import type { RedisClient } from '@pagefleet/shared';

/**
 * Creation time (ms) of the oldest job waiting in a queue, if any. Jobs without a priority wait
 * in a list, oldest at its right end. Prioritized jobs (every page: its priority is its index)
 * wait in a sorted set scored `priority × 2^32 + insertion counter` (BullMQ's getPriorityScore),
 * so within a priority the first member is the oldest; the script visits the first member of each
 * priority band, jumping from band to band, instead of reading the whole set. Bands past
 * MAX_BANDS (pages beyond the thousandth of a document) are not visited. Pages held for their
 * tenant's turn (FairShare) are delayed jobs, all by the same delay, and retried pages wait out
 * a backoff there: the delayed set's first member is the oldest held page or a retried one.
 */
const OLDEST_WAITING = `
local candidates = {}
local last = redis.call('LINDEX', KEYS[1], -1)
if last then table.insert(candidates, last) end
local band = 4294967296
local from = 0
for _ = 1, tonumber(ARGV[2]) do
  local first = redis.call('ZRANGEBYSCORE', KEYS[2], from, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if #first == 0 then break end
  table.insert(candidates, first[1])
  from = (math.floor(tonumber(first[2]) / band) + 1) * band
end
local due = redis.call('ZRANGE', KEYS[3], 0, 0)
if #due > 0 then table.insert(candidates, due[1]) end
local oldest = false
for _, id in ipairs(candidates) do
  local stamp = tonumber(redis.call('HGET', ARGV[1] .. id, 'timestamp'))
  if stamp and (not oldest or stamp < oldest) then oldest = stamp end
end
return oldest`;

const MAX_BANDS = 1000;

export async function oldestWaitingTimestamp(redis: RedisClient, queue: Queue): Promise<number | undefined> {
  const keys = queue.keys as Record<string, string>;
  const reply = await redis.eval(
    OLDEST_WAITING,
    3,
    keys.wait as string,
    keys.prioritized as string,
    keys.delayed as string,
    queue.toKey(''),
    MAX_BANDS,
  );
  return typeof reply === 'number' ? reply : undefined;
}

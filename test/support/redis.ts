import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRedisServer } from '../../scripts/lib/redis-server.js';

export interface TestRedis {
  url: string;
  stop(): Promise<void>;
}

/** REDIS_URL when given (tests then use a key prefix of their own), else a private redis-server on a free port. */
export async function startRedis(): Promise<TestRedis> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: () => Promise.resolve() };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-redis-'));
  const server = await startRedisServer(dir, false);
  return {
    url: server.url,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { Router } from 'express';
import type { RedisClient } from '@pagefleet/shared';
import { hasFreeSpace, probeWrites, uploadsDir, type BlobStore, type Config } from '@pagefleet/shared';
import { sendProblem } from '../problem.js';

const PING_TIMEOUT_MS = 1000;

/** Whether `dir` takes writes; a folder removed under the running API is made again first. */
async function writable(dir: string): Promise<boolean> {
  await mkdir(dir, { recursive: true }).catch(() => undefined);
  return access(dir, constants.W_OK).then(
    () => true,
    () => false,
  );
}

/**
 * `/health` (the process runs) and `/ready` (Redis takes writes, the blob store and the uploads
 * folder work, and its disk keeps MIN_FREE_DISK free). A Redis that answers but refuses writes
 * (full, read-only) could take no submission: not ready.
 */
export function healthRouter(
  redis: RedisClient,
  blobs: BlobStore,
  config: Pick<Config, 'DATA_DIR' | 'MIN_FREE_DISK' | 'QUEUE_PREFIX'>,
): Router {
  const { DATA_DIR: dataDir, MIN_FREE_DISK: minFreeDisk } = config;
  const uploads = uploadsDir(dataDir);
  const probeKey = `${config.QUEUE_PREFIX}:probe`;
  const router = Router();
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/ready', async (_req, res) => {
    const [redisUp, storage, uploadsWritable, disk] = await Promise.all([
      probeWrites(redis, probeKey, PING_TIMEOUT_MS),
      blobs.ready(),
      writable(uploads),
      hasFreeSpace(dataDir, minFreeDisk),
    ]);
    const checks = { redis: redisUp, storage, dataDir: uploadsWritable, disk };
    if (Object.values(checks).every(Boolean)) {
      res.json({ status: 'ready', checks });
      return;
    }
    const failing = Object.entries(checks)
      .filter(([, ok]) => !ok)
      .map(([name]) => name);
    res.set('Retry-After', '5');
    sendProblem(res, 503, 'not_ready', 'Not ready', `failing checks: ${failing.join(', ')}`);
  });
  return router;
}

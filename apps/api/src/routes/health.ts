import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { Router } from 'express';
import type { Redis } from 'ioredis';
import { pingRedis } from '@pagefleet/shared';
import { sendProblem } from '../problem.js';

const PING_TIMEOUT_MS = 1000;

async function writable(dir: string): Promise<boolean> {
  return access(dir, constants.W_OK).then(
    () => true,
    () => false,
  );
}

export function healthRouter(redis: Redis, dirs: string[]): Router {
  const router = Router();
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/ready', async (_req, res) => {
    const checks = {
      redis: await pingRedis(redis, PING_TIMEOUT_MS),
      dataDir: (await Promise.all(dirs.map(writable))).every(Boolean),
    };
    if (checks.redis && checks.dataDir) {
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

import { Router } from 'express';
import type { HeartbeatStore } from '@pagefleet/shared';

/** Live workers, from the heartbeats they keep in Redis. */
export function workersRouter(heartbeats: HeartbeatStore): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    res.json({ workers: await heartbeats.list() });
  });
  return router;
}

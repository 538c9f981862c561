import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router, type RequestHandler } from 'express';
import type { Queue } from 'bullmq';

export const DASHBOARD_PATH = '/admin/queues';

/** The dashboard is a page with its own scripts and styles: only those, from this origin. */
const dashboardHeaders: RequestHandler = (_req, res, next) => {
  res.set(
    'Content-Security-Policy',
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  );
  next();
};

/** bull-board over every queue, for operators: jobs by state, their data and errors, retries. */
export function queueDashboard(queues: Queue[], auth: RequestHandler): Router {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({ queues: queues.map((queue) => new BullMQAdapter(queue)), serverAdapter: adapter });
  const router = Router();
  router.use(dashboardHeaders);
  router.use(auth);
  router.use(adapter.getRouter() as RequestHandler);
  return router;
}

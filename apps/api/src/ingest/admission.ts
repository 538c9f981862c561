import type { RequestHandler } from 'express';
import type { Queue } from 'bullmq';
import { BackpressureError, UnavailableError, type Config } from '@pagefleet/shared';

/** Seconds a client is asked to wait when too many pages are queued: a few pages' worth of work. */
const BACKPRESSURE_RETRY_SECONDS = 30;

/** States in which a page is queued and not yet taken by a worker. */
const WAITING_STATES = ['waiting', 'prioritized', 'delayed'] as const;

export interface AdmissionDeps {
  config: Config;
  pageQueues: Queue[];
}

/** Pages queued in every page queue and not yet taken by a worker. */
export async function queuedPages(queues: Queue[]): Promise<number> {
  const counts = await Promise.all(queues.map((queue) => queue.getJobCounts(...WAITING_STATES)));
  return counts.reduce((sum, count) => sum + WAITING_STATES.reduce((n, state) => n + (count[state] ?? 0), 0), 0);
}

/**
 * Runs before the upload is read, so that a refused request costs neither bandwidth nor disk:
 * at most MAX_CONCURRENT_UPLOADS uploads per process (503), and none while more than
 * MAX_QUEUED_PAGES pages wait for a worker (429).
 */
export function admission({ config, pageQueues }: AdmissionDeps): RequestHandler {
  let active = 0;
  return async (_req, res, next) => {
    if (active >= config.MAX_CONCURRENT_UPLOADS) {
      throw new UnavailableError(
        `${active} uploads are in progress, the most this server takes at once (MAX_CONCURRENT_UPLOADS); retry shortly`,
        1,
        'busy',
      );
    }
    active++;
    res.once('close', () => active--);
    let queued: number;
    try {
      queued = await queuedPages(pageQueues);
    } catch (err) {
      throw new UnavailableError(`the job queue is unreachable (${(err as Error).message}); retry shortly`);
    }
    if (queued >= config.MAX_QUEUED_PAGES) {
      throw new BackpressureError(
        `${queued} pages are waiting for a worker; new jobs are accepted below ${config.MAX_QUEUED_PAGES} (MAX_QUEUED_PAGES)`,
        BACKPRESSURE_RETRY_SECONDS,
      );
    }
    next();
  };
}

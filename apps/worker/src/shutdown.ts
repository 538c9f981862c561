import type { Worker } from 'bullmq';
import type { Logger } from '@pagefleet/shared';
import type { ActivePage } from './catalog.js';

export interface ShutdownOutcome {
  /** Pages that finished within the grace period. */
  finished: boolean;
  /** Pages still running at its end, moved back to their queue for another worker. */
  handedBack: number;
}

/** Once its pages are handed back, how long a worker's close may take before its connections are cut. */
const CLOSE_STUCK_MS = 5000;

/** True when `promise` settles within `ms`; false when the time runs out first. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes the BullMQ workers within `graceMs`, handing back to their queue the pages still running. */
export async function closeWorkers(
  workers: Worker[],
  active: Map<string, ActivePage>,
  graceMs: number,
  log: Logger,
): Promise<ShutdownOutcome> {
  // worker.close() stops fetching, then waits for active jobs with no timeout of its own.
  const closing = Promise.all(workers.map((worker) => worker.close()));
  const finished = await settlesWithin(closing, graceMs);
  let handedBack = 0;
  if (finished) return { finished, handedBack };
  for (const { job, token, stop } of active.values()) {
    await job.moveToWait(token).then(
      () => handedBack++,
      (err: unknown) => log.warn({ err, job: job.id }, 'could not hand a page back; its lock will expire'),
    );
    // Its result would be refused anyway: the page is no longer this worker's.
    stop.abort(new Error('page handed back on shutdown'));
  }
  // A worker whose blocking connection is stuck reconnecting after a Redis outage never closes
  // (taskforcesh/bullmq#4585, #4656): its connections are cut instead.
  if (!(await settlesWithin(closing, CLOSE_STUCK_MS))) {
    log.warn({ waitedMs: CLOSE_STUCK_MS }, 'BullMQ workers did not close; disconnecting them');
    await Promise.allSettled(workers.map((worker) => settlesWithin(worker.disconnect(), CLOSE_STUCK_MS)));
  }
  return { finished, handedBack };
}

import type { Queue } from 'bullmq';
import type { DocumentLedger } from '@pagefleet/shared';

/** Finished BullMQ jobs removed per queue and state in one run; the next run takes the rest. */
const CLEAN_BATCH = 10_000;

export interface CleanupDeps {
  ledger: DocumentLedger;
  /** Queues whose finished jobs are removed once older than the TTL. */
  queues: Queue[];
  ttlSeconds: number;
}

export interface CleanupSummary {
  documents: number;
  recovered: number;
  jobs: number;
}

/**
 * Removes what RESULT_TTL has expired. Redis expires a document's state by itself; its stored
 * objects (the ledger, by each document's own saved state) and finished BullMQ jobs (which BullMQ
 * trims only when another job finishes) are removed here, and documents Redis lost are
 * recovered on the way. Uploads a crashed API left behind are its own sweep's
 * (apps/api/src/ingest/stale-uploads.ts).
 */
export async function cleanExpired(deps: CleanupDeps): Promise<CleanupSummary> {
  const { expired, recovered } = await deps.ledger.reconcile();
  const summary: CleanupSummary = { documents: expired, recovered, jobs: 0 };
  for (const queue of deps.queues) {
    for (const state of ['completed', 'failed'] as const) {
      summary.jobs += (await queue.clean(deps.ttlSeconds * 1000, CLEAN_BATCH, state)).length;
    }
  }
  return summary;
}

import type { Dispatcher, DocumentLedger } from '@pagefleet/shared';

export interface CleanupDeps {
  ledger: DocumentLedger;
  /** Removes the finished jobs older than the TTL. */
  dispatch: Dispatcher;
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
  return { documents: expired, recovered, jobs: await deps.dispatch.cleanFinished(deps.ttlSeconds * 1000) };
}

import type { Queue } from 'bullmq';
import {
  expandPages,
  pageJobId,
  queueWebhook,
  type Config,
  type DocumentLedger,
  type DocumentState,
} from '@pagefleet/shared';

export interface CancelDeps {
  config: Config;
  ledger: DocumentLedger;
  queues: { documents: Queue; pages: Queue[]; webhooks: Queue };
}

/**
 * `DELETE /v1/jobs/:id`: the ledger ends the document as canceled and removes what it stored;
 * its jobs still queued are removed, and its webhook (if any) says so.
 */
export async function cancelDocument(deps: CancelDeps, doc: DocumentState): Promise<void> {
  await deps.ledger.cancel(doc.id);
  // Removing the parent takes its waiting pages with it; pages already running find the
  // document ended when they try to record their result.
  const removed = await deps.queues.documents.remove(doc.id, { removeChildren: true });
  if (removed === 0) {
    for (const page of expandPages(doc.pages)) {
      for (const queue of deps.queues.pages) await queue.remove(pageJobId(doc.id, page));
    }
  }
  await queueWebhook(deps.queues.webhooks, deps.ledger, deps.config, doc.id);
}

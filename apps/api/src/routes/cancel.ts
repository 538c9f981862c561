import { expandPages, queueWebhook, type Dispatcher, type DocumentLedger, type DocumentState } from '@pagefleet/shared';

export interface CancelDeps {
  ledger: DocumentLedger;
  dispatch: Dispatcher;
}

/**
 * `DELETE /v1/jobs/:id`: the ledger ends the document as canceled and removes what it stored;
 * its jobs still queued are removed, and its webhook (if any) says so. Pages already running
 * find the document ended when they try to record their result.
 */
export async function cancelDocument(deps: CancelDeps, doc: DocumentState): Promise<void> {
  await deps.ledger.cancel(doc.id);
  await deps.dispatch.cancel(doc.id, expandPages(doc.pages));
  await queueWebhook(deps.dispatch, deps.ledger, doc.id);
}

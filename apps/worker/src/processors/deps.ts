import type { DocumentLedger, Logger } from '@pagefleet/shared';
import type { PipelineDeps } from '../pipeline/page.js';

export interface ProcessorDeps {
  ledger: DocumentLedger;
  /** Local folder for the copies a page or a document needs while it is processed. */
  scratchDir: string;
  log: Logger;
}

export interface PageProcessorDeps extends ProcessorDeps, PipelineDeps {}

export interface DocumentProcessorDeps extends ProcessorDeps {
  /** Time pdfunite may take to assemble a document's searchable PDF. */
  pdfTimeoutMs: number;
  /** Queues the document's webhook, if its submission asked for one. */
  queueWebhook(documentId: string): Promise<void>;
}

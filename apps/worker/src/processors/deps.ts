import type { DocumentStore, Logger } from '@pagefleet/shared';
import type { PipelineDeps } from '../pipeline/page.js';

export interface ProcessorDeps {
  dataDir: string;
  documents: DocumentStore;
  log: Logger;
}

export interface PageProcessorDeps extends ProcessorDeps, PipelineDeps {}

export interface DocumentProcessorDeps extends ProcessorDeps {
  /** Time pdfunite may take to assemble a document's searchable PDF. */
  pdfTimeoutMs: number;
  /** Queues the document's webhook, if its submission asked for one. */
  queueWebhook(documentId: string): Promise<void>;
}

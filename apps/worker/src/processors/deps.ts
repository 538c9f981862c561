import type { DocumentLedger, Logger } from '@pagefleet/shared';
import type { PipelineDeps } from '../pipeline/page.js';

export interface ProcessorDeps {
  ledger: DocumentLedger;
  /** Local folder for the copies a page or a document needs while it is processed. */
  scratchDir: string;
  log: Logger;
}

/** Who this worker is, and how it tells a worker that died from one that lives. */
export interface Liveness {
  /** This worker's heartbeat id, which its claims carry. */
  workerId: string;
  /** Whether the worker with this heartbeat id is alive now. */
  isAlive(workerId: string): Promise<boolean>;
  /** Deaths of its worker a page survives (MAX_STALLED_COUNT). */
  maxDeaths: number;
}

export interface PageProcessorDeps extends ProcessorDeps, PipelineDeps {
  liveness: Liveness;
}

export interface DocumentProcessorDeps extends ProcessorDeps {
  /** Time pdfunite may take to assemble a document's searchable PDF. */
  pdfTimeoutMs: number;
  /** Queues the document's webhook, if its submission asked for one. */
  queueWebhook(documentId: string): Promise<void>;
}

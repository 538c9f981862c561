import type { DocumentStore, Logger } from '@pagefleet/shared';
import type { PipelineDeps } from '../pipeline/page.js';

export interface ProcessorDeps extends PipelineDeps {
  dataDir: string;
  documents: DocumentStore;
  log: Logger;
}

import { UnrecoverableError, type Job } from 'bullmq';
import { documentPaths, pageJobSchema, readPageResult, type DocumentStore } from '@pagefleet/shared';
import { recognizePage } from '../pipeline/page.js';
import { writePageResult } from '../pipeline/store.js';
import type { PageProcessorDeps } from './deps.js';

/** A page of a canceled document: not retried, and not recorded as a failure of the document. */
export class DocumentCanceledError extends UnrecoverableError {
  constructor() {
    super('document was canceled');
  }
}

export interface PageSummary {
  confidence: number;
  words: number;
  durations: Record<string, number>;
}

export async function processPage(job: Job, deps: PageProcessorDeps): Promise<PageSummary> {
  const parsed = pageJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`malformed page job: ${parsed.error.message}`);
  const data = parsed.data;
  if (await deps.documents.isFinished(data.documentId)) throw new DocumentCanceledError();

  await deps.documents.markProcessing(data.documentId);
  const paths = documentPaths(deps.dataDir, data.documentId);
  const result = await recognizePage(data, paths, deps);
  const start = performance.now();
  await writePageResult(paths, result);
  await deps.documents.recordPage(data.documentId, data.page, 'completed');
  const durations = { ...result.durations, store: Math.round(performance.now() - start) };
  return { confidence: result.confidence, words: result.words.length, durations };
}

/**
 * Records a page that will not be retried, so that its document reports it. Idempotent, and a
 * page whose result was already stored (its worker died after writing it) keeps that result.
 */
export async function recordPageFailure(
  deps: { dataDir: string; documents: DocumentStore },
  documentId: string,
  page: number,
  error: string,
): Promise<void> {
  const paths = documentPaths(deps.dataDir, documentId);
  const stored = await readPageResult(paths, page);
  if (stored?.status === 'completed') {
    await deps.documents.recordPage(documentId, page, 'completed');
    return;
  }
  await writePageResult(paths, { page, status: 'failed', text: '', confidence: 0, words: [], error });
  await deps.documents.recordPage(documentId, page, 'failed');
}

import { open, rename, rm } from 'node:fs/promises';
import { UnrecoverableError, type Job } from 'bullmq';
import {
  documentJobSchema,
  documentPaths,
  everyPage,
  expandPages,
  pageFromJobId,
  readPageResult,
  writeFileAtomic,
  type DocumentStatus,
} from '@pagefleet/shared';
import { assemblePdf } from '../pipeline/assemble.js';
import type { DocumentProcessorDeps } from './deps.js';
import { recordPageFailure } from './page.js';

export interface DocumentSummary {
  status: DocumentStatus;
  pagesDone: number;
  pagesFailed: number;
}

/**
 * Runs once every page has ended (completed or given up): makes sure each failed page is on
 * record, writes the combined text (pages joined by a form feed) and the final status.
 */
export async function processDocument(job: Job, deps: DocumentProcessorDeps): Promise<DocumentSummary | undefined> {
  const parsed = documentJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`malformed document job: ${parsed.error.message}`);
  const { documentId, pageCount, pdf } = parsed.data;
  // Jobs queued before page selections existed name every page.
  const pages = expandPages(parsed.data.pages ?? everyPage(pageCount));
  if (await deps.documents.isFinished(documentId)) {
    // A retry after the status was written: the webhook may be what failed (queueing is idempotent).
    await deps.queueWebhook(documentId);
    return undefined;
  }

  const failures = await job.getIgnoredChildrenFailures();
  for (const [key, reason] of Object.entries(failures)) {
    const page = pageFromJobId(key);
    if (page !== undefined) await recordPageFailure(deps, documentId, page, reason);
  }

  const paths = documentPaths(deps.dataDir, documentId);
  const temp = `${paths.text}.tmp`;
  const out = await open(temp, 'w');
  let pagesDone = 0;
  let pagesFailed = 0;
  let written = false;
  try {
    // One page in memory at a time, whatever the document's length.
    for (const [index, page] of pages.entries()) {
      let result = await readPageResult(paths, page);
      if (!result) {
        // Never drop a page silently: one that left no trace is reported as failed.
        await recordPageFailure(deps, documentId, page, 'page ended without a result');
        result = await readPageResult(paths, page);
      }
      if (result?.status === 'completed') pagesDone++;
      else pagesFailed++;
      await out.write(`${index > 0 ? '\f' : ''}${result?.text ?? ''}`);
    }
    written = true;
  } finally {
    await out.close();
    if (!written) await rm(temp, { force: true });
  }
  await rename(temp, paths.text);
  if (pdf) await assemblePdf(paths, pages, deps.pdfTimeoutMs);

  const status: DocumentStatus = pagesFailed === 0 ? 'completed' : pagesDone === 0 ? 'failed' : 'partial';
  const error = pagesFailed === 0 ? '' : `${pagesFailed} of ${pageCount} pages failed`;
  if (await deps.documents.finish(documentId, status, error)) {
    const state = await deps.documents.get(documentId);
    if (state) await writeFileAtomic(paths.state, JSON.stringify(state));
  }
  await deps.queueWebhook(documentId);
  return { status, pagesDone, pagesFailed };
}

import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Job } from 'bullmq';
import {
  expandPages,
  failureFromMessage,
  FINISHED_STATUSES,
  isStorageFull,
  pageFromJobId,
  type DocumentJob,
  type DocumentLedger,
  type DocumentStatus,
} from '@pagefleet/shared';
import { assemblePdf } from '../pipeline/assemble.js';
import type { DocumentProcessorDeps } from './deps.js';
import { decideEnd } from '../attempts.js';

export interface DocumentSummary {
  status: DocumentStatus;
  pagesDone: number;
  pagesFailed: number;
}

/**
 * Pages whose results are read at once to join their text: one round trip to Redis for their
 * records, not one a page; a dense page's result is a few hundred kilobytes, so these are a few
 * megabytes at most.
 */
const JOINED_AT_ONCE = 16;

/** The pages' text joined by form feeds, JOINED_AT_ONCE pages in memory at a time. */
async function* joinedText(ledger: DocumentLedger, id: string, pages: number[]) {
  for (let first = 0; first < pages.length; first += JOINED_AT_ONCE) {
    const results = await ledger.pageResults(id, pages.slice(first, first + JOINED_AT_ONCE));
    for (const [i, result] of results.entries()) yield `${first + i > 0 ? '\f' : ''}${result?.text ?? ''}`;
  }
}

/**
 * Runs once every page has ended (completed or given up): makes sure each page has a record,
 * stores the combined text and PDF, then ends the document.
 */
export async function processDocument(
  job: Job<DocumentJob>,
  deps: DocumentProcessorDeps,
): Promise<DocumentSummary | undefined> {
  const { documentId: id, pageCount, pdf } = job.data;
  const { ledger } = deps;
  const pages = expandPages(job.data.pages);
  // Reading it recovers a document Redis lost. One that no longer exists, or was canceled (its
  // ingest lapsed, a DELETE), has nothing to end: its cancel sent its webhook and saved its state.
  const doc = await ledger.read(id);
  if (!doc || doc.status === 'canceled') return undefined;
  if (FINISHED_STATUSES.has(doc.status)) {
    // A retry after the status was written: the webhook or the saved state may be what failed
    // (both are idempotent).
    await deps.queueWebhook(id);
    await ledger.saveFinished(id);
    return undefined;
  }

  // Pages BullMQ gave up without their attempt recording why: the stalled ones (worker deaths).
  for (const [key, message] of Object.entries(await job.getIgnoredChildrenFailures())) {
    const page = pageFromJobId(key);
    if (page !== undefined) await ledger.pageFailed(id, page, failureFromMessage(message));
  }
  // Never drop a page silently: one that left no trace is reported as failed.
  for (const page of await ledger.unrecordedPages(id, pages)) {
    await ledger.pageFailed(id, page, { reason: 'error', error: 'page ended without a result' });
  }

  const stored = await storeOutputs(job, deps, id, pages, pdf);
  const { pagesDone, pagesFailed } = (await ledger.read(id)) ?? { pagesDone: 0, pagesFailed: pages.length };
  const errors = [
    ...(pagesFailed > 0 ? [`${pagesFailed} of ${pageCount} pages failed`] : []),
    ...(stored ? [] : ['there was no room to store the combined text and PDF']),
  ];
  const status: DocumentStatus = errors.length === 0 ? 'completed' : pagesDone === 0 ? 'failed' : 'partial';
  // Canceled meanwhile: the cancel has sent its webhook and saved its state.
  if (!(await ledger.finish(id, status, errors.join('; ')))) return undefined;
  await deps.queueWebhook(id);
  await ledger.saveFinished(id);
  return { status, pagesDone, pagesFailed };
}

/**
 * Stores the combined text and, if asked for, PDF; false when the disk had no room for them on
 * the job's last attempt. A full disk is retried like any error, but never keeps a document from
 * ending: its last attempt ends it without them.
 */
async function storeOutputs(
  job: Job,
  deps: DocumentProcessorDeps,
  id: string,
  pages: number[],
  pdf: boolean,
): Promise<boolean> {
  try {
    await deps.ledger.storeText(id, Readable.from(joinedText(deps.ledger, id, pages)));
    if (pdf) await storePdf(deps, id, pages);
    return true;
  } catch (err) {
    if (!isStorageFull(err) || !decideEnd(job, err as Error).final) throw err;
    deps.log.warn(
      { documentId: id, err },
      'no room to store the combined text and PDF: the document ends without them',
    );
    return false;
  }
}

async function storePdf(deps: DocumentProcessorDeps, id: string, pages: number[]): Promise<void> {
  const scratch = path.join(deps.scratchDir, `${id}.document`);
  await mkdir(scratch, { recursive: true });
  try {
    const files = await deps.ledger.pageOutputFiles(id, pages, 'pdf', scratch);
    const out = path.join(scratch, 'document.pdf');
    if (await assemblePdf(files, out, deps.pdfTimeoutMs)) await deps.ledger.storePdf(id, out);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

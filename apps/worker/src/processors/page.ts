import { UnrecoverableError, type Job } from 'bullmq';
import {
  documentPaths,
  MIN_DPI,
  MIN_PAGE_PIXELS,
  pageJobSchema,
  readPageResult,
  type DocumentStore,
  type PageFailureReason,
  type ReadMethod,
} from '@pagefleet/shared';
import { PAGE_TIMEOUT_PREFIX } from '../pipeline/deadline.js';
import { recognizePage } from '../pipeline/page.js';
import { writePageFormats, writePageResult } from '../pipeline/store.js';
import type { PageProcessorDeps } from './deps.js';

/** A page of a canceled document: not retried, and not recorded as a failure of the document. */
export class DocumentCanceledError extends UnrecoverableError {
  override name = 'DocumentCanceledError';
  constructor() {
    super('document was canceled');
  }
}

export interface PageSummary {
  method: ReadMethod;
  confidence: number;
  words: number;
  /** Pixels of the page as recognized. */
  pixels: number;
  durations: Record<string, number>;
}

/**
 * The DPI and pixel cap of an attempt after `deaths` workers died on the page (its job stalled):
 * halved, then halved again, so that a page that got its worker OOM-killed needs a quarter of
 * the memory on its next try.
 */
export function shrinkAfterDeaths(dpi: number, maxPixels: number, deaths: number): { dpi: number; maxPixels: number } {
  const scale = 2 ** deaths;
  return {
    dpi: Math.max(MIN_DPI, Math.floor(dpi / scale)),
    maxPixels: Math.max(MIN_PAGE_PIXELS, Math.floor(maxPixels / (scale * scale))),
  };
}

/** `stop` abandons the attempt (the page was handed back to its queue on shutdown). */
export async function processPage(job: Job, deps: PageProcessorDeps, stop?: AbortSignal): Promise<PageSummary> {
  const parsed = pageJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`malformed page job: ${parsed.error.message}`);
  const data = parsed.data;
  if (await deps.documents.isFinished(data.documentId)) throw new DocumentCanceledError();

  const deaths = job.stalledCounter;
  const { dpi, maxPixels } = shrinkAfterDeaths(data.dpi, deps.maxPixels, deaths);
  deps.log.info({ jobId: data.documentId, page: data.page, attempt: job.attemptsStarted, deaths, dpi }, 'page started');
  await deps.documents.markProcessing(data.documentId);
  const paths = documentPaths(deps.dataDir, data.documentId);
  const { formats, ...result } = await recognizePage({ ...data, dpi }, paths, { ...deps, maxPixels }, stop);
  const start = performance.now();
  await writePageFormats(paths, data.page, formats);
  await writePageResult(paths, result);
  await deps.documents.recordPage(data.documentId, data.page, 'completed', result.confidence);
  const durations = { ...result.durations, store: Math.round(performance.now() - start) };
  return {
    method: result.method ?? 'ocr',
    confidence: result.confidence,
    words: result.words.length,
    pixels: (result.width ?? 0) * (result.height ?? 0),
    durations,
  };
}

/** BullMQ's reason for a job whose worker died (lost its lock) more than MAX_STALLED_COUNT times. */
const STALLED_REASON = 'job stalled more than allowable limit';

/** Why a page was given up, from the message of its last failure. */
export function describeFailure(message: string): { reason: PageFailureReason; error: string } {
  if (message === STALLED_REASON) {
    return {
      reason: 'oom',
      error: 'the worker died on every attempt at this page (killed, most likely out of memory), also at lower DPI',
    };
  }
  if (message.startsWith(PAGE_TIMEOUT_PREFIX)) return { reason: 'timeout', error: message };
  return { reason: 'error', error: message };
}

/**
 * Records a page that will not be retried, so that its document reports it. Idempotent, and a
 * page whose result was already stored (its worker died after writing it) keeps that result.
 */
export async function recordPageFailure(
  deps: { dataDir: string; documents: DocumentStore },
  documentId: string,
  page: number,
  message: string,
): Promise<void> {
  const paths = documentPaths(deps.dataDir, documentId);
  const stored = await readPageResult(paths, page);
  if (stored?.status === 'completed') {
    await deps.documents.recordPage(documentId, page, 'completed', stored.confidence);
    return;
  }
  await writePageResult(paths, {
    page,
    status: 'failed',
    text: '',
    confidence: 0,
    words: [],
    ...describeFailure(message),
  });
  await deps.documents.recordPage(documentId, page, 'failed');
}

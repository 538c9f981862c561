import { rm } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, type Job } from 'bullmq';
import {
  MIN_DPI,
  MIN_PAGE_PIXELS,
  PageGivenUpError,
  WORKER_DEATHS,
  type ClaimedPage,
  type PageJob,
  type ReadMethod,
  type Engine,
  type EngineChoice,
} from '@pagefleet/shared';
import { decideEnd } from '../attempts.js';
import { recognizePage } from '../pipeline/page.js';
import type { PageProcessorDeps } from './deps.js';

/** A page of a document that has ended (canceled, expired): not retried, and not recorded. */
export class DocumentCanceledError extends UnrecoverableError {
  override name = 'DocumentCanceledError';
  constructor() {
    super('the document has ended (canceled or expired)');
  }
}

/** An attempt whose page was taken over (its worker was paused past its lock): its result is dropped. */
export class PageSupersededError extends Error {
  override name = 'PageSupersededError';
  constructor() {
    super('another attempt took this page over; this result was not recorded');
  }
}

export interface PageSummary {
  method: ReadMethod;
  /** OCRed pages: the engine that read it, and the one the submission asked for. */
  engine?: Engine;
  asked?: EngineChoice;
  /** Bytes copied from the blob store to read the page (0 where it is read in place). */
  fetchedBytes: number;
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

/**
 * The deaths of a worker on this page so far. A job stalls when its lock expires: its worker died,
 * or Redis was paused (frozen, a long fork) past the lock while its worker went on. Only the
 * first is a death, and only a death makes the next attempt smaller.
 */
async function countDeaths(claim: ClaimedPage, deps: PageProcessorDeps): Promise<number> {
  if (claim.newStalls === 0 || !claim.previousWorker) return claim.deaths;
  if (await deps.liveness.isAlive(claim.previousWorker)) {
    deps.log.info(
      { documentId: claim.documentId, page: claim.page, worker: claim.previousWorker },
      'page stalled while its worker lived (Redis paused past the lock?): not a death',
    );
    return claim.deaths;
  }
  return deps.ledger.pageDied(claim, claim.newStalls);
}

/**
 * One attempt at a page: claims it in the ledger, reads it, and records its result. `stop`
 * abandons the attempt (the page was handed back to its queue on shutdown). An attempt that
 * fails for the last time records why before it rethrows, so the failure is typed in the ledger
 * before BullMQ lets the document finish.
 */
export async function processPage(
  job: Job<PageJob>,
  deps: PageProcessorDeps,
  stop?: AbortSignal,
): Promise<PageSummary> {
  const data = job.data;
  const claim = await deps.ledger.pageStarted(data.documentId, data.page, deps.liveness.workerId, job.stalledCounter);
  if (!claim) throw new DocumentCanceledError();
  const scratch = path.join(deps.scratchDir, `${data.documentId}.${data.page}.${claim.attempt}`);
  try {
    const deaths = await countDeaths(claim, deps);
    if (deaths > deps.liveness.maxDeaths) throw new PageGivenUpError(WORKER_DEATHS);
    const { dpi, maxPixels } = shrinkAfterDeaths(data.dpi, deps.maxPixels, deaths);
    deps.log.info(
      { documentId: data.documentId, page: data.page, attempt: claim.attempt, deaths, dpi },
      'page started',
    );
    const input = await deps.ledger.pageInput(data.documentId, data.source, path.join(scratch, data.source.file));
    if (!input) throw new UnrecoverableError(`the document's input ${data.source.file} is missing`);
    const source = { ...data.source, index: input.index };
    const { formats, ...result } = await recognizePage(
      { ...data, source, dpi },
      input.file,
      { ...deps, maxPixels },
      stop,
    );
    const start = performance.now();
    const outcome = await deps.ledger.pageCompleted(claim, result, formats);
    if (outcome !== 'recorded') {
      deps.log.warn(
        { documentId: data.documentId, page: data.page, attempt: claim.attempt, outcome },
        'page result not recorded: this attempt no longer owns the page',
      );
    }
    if (outcome === 'ended') throw new DocumentCanceledError();
    if (outcome === 'superseded') throw new PageSupersededError();
    return {
      method: result.method ?? 'ocr',
      ...(result.engine ? { engine: result.engine, asked: data.engine } : {}),
      fetchedBytes: input.fetchedBytes,
      confidence: result.confidence,
      words: result.words.length,
      pixels: (result.width ?? 0) * (result.height ?? 0),
      durations: { ...result.durations, store: Math.round(performance.now() - start) },
    };
  } catch (err) {
    const error = err as Error;
    const end = decideEnd(job, error);
    if (!(error instanceof DocumentCanceledError) && end.final) {
      await deps.ledger.pageFailed(data.documentId, data.page, end.failure);
    }
    throw err;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

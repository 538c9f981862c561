import { UnrecoverableError } from 'bullmq';
import { isStorageFull } from '../errors.js';
import type { PageFailureReason } from '@pagefleet/contract';

/** Why a page was given up, as its result reports it. */
export interface PageFailure {
  reason: PageFailureReason;
  error: string;
  /** The pipeline stage it failed in, where known. */
  stage?: string;
}

/** An error that knows why its page failed; any other error fails its page with reason `error`. */
export class PageFailureError extends Error {
  override name = 'PageFailureError';
  constructor(
    readonly reason: PageFailureReason,
    message: string,
    readonly stage?: string,
  ) {
    super(message);
  }
}

/**
 * BullMQ's message for a job that stalled (lost its lock) more times than it allows: a failure
 * that reaches its page's 'failed' event, and its document job, as a message only, so it is
 * matched here and nowhere else (page.test.ts would catch the wording changing).
 */
const STALLED_REASON = 'job stalled more than allowable limit';

/** Its workers died on every attempt at the page: BullMQ's stalled limit, or the page's own count of deaths. */
export const WORKER_DEATHS: PageFailure = {
  reason: 'oom',
  error: 'the worker died on every attempt at this page (killed, most likely out of memory), also at lower DPI',
};

/** A page given up at once, whatever attempts it has left, for the failure it carries. */
export class PageGivenUpError extends UnrecoverableError {
  override name = 'PageGivenUpError';
  constructor(readonly failure: PageFailure) {
    super(failure.error);
  }
}

/** The failure an error stands for. */
export function failureOf(err: Error): PageFailure {
  if (err instanceof PageGivenUpError) return err.failure;
  if (err instanceof PageFailureError) {
    return { reason: err.reason, error: err.message, ...(err.stage ? { stage: err.stage } : {}) };
  }
  if (isStorageFull(err)) return { reason: 'storage', error: `no room to store the page: ${err.message}` };
  return failureFromMessage(err.message);
}

/** The failure of a page known only by BullMQ's message for it (a failed child of a document job). */
export function failureFromMessage(message: string): PageFailure {
  return message === STALLED_REASON ? WORKER_DEATHS : { reason: 'error', error: message };
}

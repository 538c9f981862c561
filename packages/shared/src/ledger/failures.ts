import { isStorageFull } from '../errors.js';
import type { PageFailureReason } from '../jobs.js';

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
 * BullMQ's message for a job that stalled (lost its lock) more times than it allows, which the
 * page handler gives too when a page's workers died more than MAX_STALLED_COUNT times: a failure
 * that reaches a document job as a message only, so it is matched here and nowhere else.
 */
export const STALLED_REASON = 'job stalled more than allowable limit';

export const isStalledFailure = (message: string) => message === STALLED_REASON;

const DIED: PageFailure = {
  reason: 'oom',
  error: 'the worker died on every attempt at this page (killed, most likely out of memory), also at lower DPI',
};

/** The failure an error stands for. */
export function failureOf(err: Error): PageFailure {
  if (err instanceof PageFailureError) {
    return { reason: err.reason, error: err.message, ...(err.stage ? { stage: err.stage } : {}) };
  }
  if (isStorageFull(err)) return { reason: 'storage', error: `no room to store the page: ${err.message}` };
  return failureFromMessage(err.message);
}

/** The failure of a page known only by BullMQ's message for it (a failed child of a document job). */
export function failureFromMessage(message: string): PageFailure {
  return isStalledFailure(message) ? DIED : { reason: 'error', error: message };
}

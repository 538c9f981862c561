import { PAGE_FAILURE_REASONS } from '../jobs.js';
import type { PageFailure } from './failures.js';

/** What the ledger holds of one ended page: which attempt's files are its result, or why it failed. */
export type PageRecord =
  | { status: 'completed'; attempt: number; confidence: number }
  | { status: 'failed'; attempt: number; failure?: PageFailure };

/**
 * Records are `<status>:<json>` in Redis, so that Lua counts outcomes by prefix without decoding.
 * A bare `completed` or `failed` was written before attempts were numbered (attempt 0): its
 * result, and a failure's reason, are in the page's unnumbered file.
 */
export function encodeRecord(record: PageRecord): string {
  const { status, ...details } = record;
  return `${status}:${JSON.stringify(details)}`;
}

export function decodeRecord(value: string): PageRecord {
  const split = value.indexOf(':');
  const status = split < 0 ? value : value.slice(0, split);
  const details = split < 0 ? {} : (JSON.parse(value.slice(split + 1)) as Record<string, unknown>);
  const attempt = typeof details.attempt === 'number' ? details.attempt : 0;
  if (status === 'completed') {
    return { status, attempt, confidence: typeof details.confidence === 'number' ? details.confidence : 0 };
  }
  if (status !== 'failed') throw new Error(`not a page record: ${JSON.stringify(value)}`);
  const failure = details.failure as PageFailure | undefined;
  const known = failure && (PAGE_FAILURE_REASONS as readonly string[]).includes(failure.reason);
  return { status, attempt, ...(known ? { failure } : {}) };
}

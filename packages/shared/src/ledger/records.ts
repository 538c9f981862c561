import type { PageFailure } from './failures.js';

/** What the ledger holds of one ended page: which attempt's files are its result, or why it failed. */
export type PageRecord =
  | { status: 'completed'; attempt: number; confidence: number }
  | { status: 'failed'; attempt: number; failure: PageFailure };

/** Records are `<status>:<json>` in Redis, so that Lua counts outcomes by prefix without decoding. */
export function encodeRecord(record: PageRecord): string {
  const { status, ...details } = record;
  return `${status}:${JSON.stringify(details)}`;
}

export function decodeRecord(value: string): PageRecord {
  const split = value.indexOf(':');
  const status = value.slice(0, split);
  if (split < 0 || (status !== 'completed' && status !== 'failed')) {
    throw new Error(`not a page record: ${JSON.stringify(value)}`);
  }
  return { status, ...(JSON.parse(value.slice(split + 1)) as object) } as PageRecord;
}

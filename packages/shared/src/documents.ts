import type { Redis } from 'ioredis';
import { FINISHED_STATUSES, type DocumentState, type DocumentStatus, type Output } from './jobs.js';
import { everyPage } from './page-ranges.js';

// Status only moves forward: a late page never turns a finished or canceled document back.
const MARK_PROCESSING = `
if redis.call('HGET', KEYS[1], 'status') == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'processing')
end`;

const FINISH = `
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'queued' or status == 'processing' then
  redis.call('HSET', KEYS[1], 'status', ARGV[1], 'finishedAt', ARGV[2], 'error', ARGV[3])
  redis.call('XADD', KEYS[3], '*', 'type', 'end', 'status', ARGV[1])
  for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ARGV[4]) end
  return 1
end
return 0`;

// A page's outcome is recorded once per change, so that a page processed twice (its worker died
// after storing it) appears once in the counts and once in the event stream.
const RECORD_PAGE = `
local previous = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
if previous == ARGV[2] then return 0 end
local done, failed = 0, 0
for _, outcome in ipairs(redis.call('HVALS', KEYS[1])) do
  if outcome == 'completed' then done = done + 1 else failed = failed + 1 end
end
redis.call('XADD', KEYS[2], '*', 'type', 'page', 'page', ARGV[1], 'status', ARGV[2], 'confidence', ARGV[3],
  'pagesDone', done, 'pagesFailed', failed)
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1`;

/** One entry of a document's event stream: a page ended, or the document did. */
export type DocumentEvent =
  | {
      id: string;
      type: 'page';
      page: number;
      status: 'completed' | 'failed';
      confidence: number;
      pagesDone: number;
      pagesFailed: number;
    }
  | { id: string; type: 'end'; status: DocumentStatus };

function toEvent(id: string, fields: string[]): DocumentEvent {
  const entry = Object.fromEntries(fields.flatMap((value, i) => (i % 2 === 0 ? [[value, fields[i + 1] ?? '']] : [])));
  if (entry.type === 'end') return { id, type: 'end', status: entry.status as DocumentStatus };
  return {
    id,
    type: 'page',
    page: Number(entry.page),
    status: entry.status as 'completed' | 'failed',
    confidence: Number(entry.confidence),
    pagesDone: Number(entry.pagesDone),
    pagesFailed: Number(entry.pagesFailed),
  };
}

export interface NewDocument {
  id: string;
  pageCount: number;
  /** Canonical selection of the document's pages (`1-3,7`). */
  pages: string;
  languages: string;
  dpi: number;
  createdAt: string;
  outputs: Output[];
  /** Where the webhook goes when the document ends. */
  callbackUrl?: string;
}

/**
 * The document's own status, kept in Redis apart from BullMQ's jobs (which are trimmed once
 * finished) so that polling finds it until RESULT_TTL. Page outcomes are a hash keyed by page,
 * so a page processed twice (a retry after a crash) is still counted once. Each page that ends,
 * and the document's end, is also appended to a stream, which event subscribers read from any
 * point (SSE's Last-Event-ID).
 */
export class DocumentStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  private keys(id: string): [doc: string, pages: string, events: string] {
    const key = `${this.prefix}:doc:${id}`;
    return [key, `${key}:pages`, `${key}:events`];
  }

  async create(doc: NewDocument): Promise<void> {
    const [key] = this.keys(doc.id);
    await this.redis
      .multi()
      .hset(key, {
        id: doc.id,
        pageCount: doc.pageCount,
        pages: doc.pages,
        languages: doc.languages,
        dpi: doc.dpi,
        createdAt: doc.createdAt,
        outputs: doc.outputs.join(','),
        callbackUrl: doc.callbackUrl ?? '',
        status: 'queued' satisfies DocumentStatus,
      })
      .expire(key, this.ttlSeconds)
      .exec();
  }

  /** Forgets a document whose submission failed half-way. */
  async discard(id: string): Promise<void> {
    await this.redis.del(...this.keys(id));
  }

  async markProcessing(id: string): Promise<void> {
    await this.redis.eval(MARK_PROCESSING, 1, this.keys(id)[0]);
  }

  async recordPage(id: string, page: number, outcome: 'completed' | 'failed', confidence = 0): Promise<void> {
    const [, pages, events] = this.keys(id);
    await this.redis.eval(RECORD_PAGE, 2, pages, events, page, outcome, confidence, this.ttlSeconds);
  }

  /** Sets the final status unless the document already finished or was canceled; true if it did. */
  async finish(id: string, status: DocumentStatus, error = ''): Promise<boolean> {
    const done = await this.redis.eval(
      FINISH,
      3,
      ...this.keys(id),
      status,
      new Date().toISOString(),
      error,
      this.ttlSeconds,
    );
    return done === 1;
  }

  async cancel(id: string): Promise<void> {
    const [key, , events] = this.keys(id);
    await this.redis
      .multi()
      .hset(key, { status: 'canceled' satisfies DocumentStatus, finishedAt: new Date().toISOString() })
      .expire(key, this.ttlSeconds)
      .xadd(events, '*', 'type', 'end', 'status', 'canceled' satisfies DocumentStatus)
      .expire(events, this.ttlSeconds)
      .exec();
  }

  /** Up to `count` events after the entry `after` ('0': from the start). */
  async events(id: string, after: string, count: number): Promise<DocumentEvent[]> {
    const entries = await this.redis.xrange(this.keys(id)[2], `(${after}`, '+', 'COUNT', count);
    return entries.map(([entryId, fields]) => toEvent(entryId, fields));
  }

  async get(id: string): Promise<DocumentState | undefined> {
    const [key, pagesKey] = this.keys(id);
    const replies = await this.redis.multi().hgetall(key).hvals(pagesKey).exec();
    const [docReply, pagesReply] = replies ?? [];
    const failed = docReply?.[0] ?? pagesReply?.[0];
    if (failed) throw failed;
    const doc = docReply?.[1] as Record<string, string>;
    if (!doc.id) return undefined;
    const outcomes = pagesReply?.[1] as string[];
    const state: DocumentState = {
      id: doc.id,
      status: doc.status as DocumentStatus,
      pageCount: Number(doc.pageCount),
      pages: doc.pages ?? everyPage(Number(doc.pageCount)),
      pagesDone: outcomes.filter((outcome) => outcome === 'completed').length,
      pagesFailed: outcomes.filter((outcome) => outcome === 'failed').length,
      languages: doc.languages ?? '',
      dpi: Number(doc.dpi),
      outputs: (doc.outputs ? doc.outputs.split(',') : ['text', 'json']) as Output[],
      createdAt: doc.createdAt ?? '',
    };
    if (doc.finishedAt) state.finishedAt = doc.finishedAt;
    if (doc.error) state.error = doc.error;
    return state;
  }

  /** The document's callback URL; undefined when it has none (or has expired). */
  async callbackUrl(id: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys(id)[0], 'callbackUrl')) || undefined;
  }

  /** False once RESULT_TTL has expired the document (or it never existed). */
  async exists(id: string): Promise<boolean> {
    return (await this.redis.exists(this.keys(id)[0])) === 1;
  }

  async isFinished(id: string): Promise<boolean> {
    const status = await this.redis.hget(this.keys(id)[0], 'status');
    return status !== null && FINISHED_STATUSES.has(status as DocumentStatus);
  }
}

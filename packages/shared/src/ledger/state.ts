import type { RedisClient } from '../redis.js';
import { FINISHED_STATUSES, type DocumentState, type DocumentStatus, type Output } from '../jobs.js';
import { everyPage } from '../page-ranges.js';
import { decodeRecord, encodeRecord, type PageRecord } from './records.js';

// Every script first checks that the document is still running: nothing a late attempt does
// turns a finished or canceled document back, or changes what it recorded.
const RUNNING = `
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'queued' and status ~= 'processing' then return 'ended' end`;

// A page's outcome is recorded once per change, so that a page processed twice (its worker died
// after storing it) appears once in the counts and once in the event stream.
const RECORD = `
local function record(page, value, confidence, ttl)
  local previous = redis.call('HGET', KEYS[2], page)
  redis.call('HSET', KEYS[2], page, value)
  redis.call('EXPIRE', KEYS[2], ttl)
  local outcome = string.sub(value, 1, 9) == 'completed' and 'completed' or 'failed'
  if previous and (string.sub(previous, 1, 9) == 'completed') == (outcome == 'completed') then
    return 'recorded'
  end
  local done, failed = 0, 0
  for _, other in ipairs(redis.call('HVALS', KEYS[2])) do
    if string.sub(other, 1, 9) == 'completed' then done = done + 1 else failed = failed + 1 end
  end
  redis.call('XADD', KEYS[3], '*', 'type', 'page', 'page', page, 'status', outcome, 'confidence', confidence,
    'pagesDone', done, 'pagesFailed', failed)
  redis.call('EXPIRE', KEYS[3], ttl)
  return 'recorded'
end`;

/**
 * KEYS doc, claims · ARGV page, ttl, worker, stalls → {attempt, previous worker, stalls since the
 * previous claim, deaths}, or 'ended'. Beside each page's latest attempt the claims hash keeps
 * who claimed it, the job's stall count then, and the deaths counted so far.
 */
const CLAIM = `${RUNNING}
if status == 'queued' then redis.call('HSET', KEYS[1], 'status', 'processing') end
local page = ARGV[1]
local attempt = redis.call('HINCRBY', KEYS[2], page, 1)
local previous = redis.call('HGET', KEYS[2], page .. ':worker') or ''
local seen = tonumber(redis.call('HGET', KEYS[2], page .. ':stalls') or '0')
local deaths = tonumber(redis.call('HGET', KEYS[2], page .. ':deaths') or '0')
redis.call('HSET', KEYS[2], page .. ':worker', ARGV[3], page .. ':stalls', ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return {attempt, previous, math.max(0, tonumber(ARGV[4]) - seen), deaths}`;

/** KEYS claims · ARGV page, deaths, ttl → the page's deaths now. */
const DIED = `
local deaths = redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':deaths', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return deaths`;

/** KEYS doc, pages, events, claims · ARGV page, attempt, record, confidence, ttl. */
const COMPLETE = `${RUNNING}${RECORD}
if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[2] then return 'superseded' end
return record(ARGV[1], ARGV[3], ARGV[4], ARGV[5])`;

/**
 * KEYS doc, pages, events, claims · ARGV page, record, ttl. A failure ends the page's claim, so
 * that an attempt still running somewhere (its worker paused past its lock) cannot record it
 * later. A page already on record keeps it: a completed page its result, a failed one the
 * reason its own attempt gave (which says more than BullMQ's message, recorded after it).
 */
const FAIL = `${RUNNING}${RECORD}
redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
redis.call('EXPIRE', KEYS[4], ARGV[3])
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'kept' end
return record(ARGV[1], ARGV[2], 0, ARGV[3])`;

/** KEYS doc, pages, events, claims · ARGV status, finishedAt, error, ttl. */
const FINISH = `${RUNNING}
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'finishedAt', ARGV[2], 'error', ARGV[3])
redis.call('XADD', KEYS[3], '*', 'type', 'end', 'status', ARGV[1])
for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ARGV[4]) end
return 'finished'`;

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
  /** Who submitted it (a digest of their API key): nobody else may see it. */
  owner?: string;
}

/** A document's state, and who owns it (unset: anyone may see it). */
export type OwnedDocument = DocumentState & { owner?: string };

/** The attempt at a page that may record its result: it holds the page's latest claim. */
export interface PageClaim {
  documentId: string;
  page: number;
  attempt: number;
}

/** A new claim, with what the page went through before it. */
export interface ClaimedPage extends PageClaim {
  /** The worker that made the previous claim, if any. */
  previousWorker?: string;
  /** Times the page's job stalled (lost its lock) since the previous claim. */
  newStalls: number;
  /** Deaths of a worker on this page counted so far. */
  deaths: number;
}

/** What became of a page's result: recorded, or refused because its attempt no longer owns the page. */
export type CommitOutcome = 'recorded' | 'superseded' | 'ended';

const countRecords = (values: string[], status: PageRecord['status']) =>
  values.filter((value) => decodeRecord(value).status === status).length;

/**
 * The Redis half of the ledger: a document's status (a hash, kept apart from BullMQ's jobs, which
 * are trimmed once finished), its page records (a hash keyed by page, so a page processed twice
 * counts once), the latest claim on each page, and its event stream (read from any point: SSE's
 * Last-Event-ID). Every key expires RESULT_TTL after the last write.
 */
export class RedisState {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  private keys(id: string): [doc: string, pages: string, events: string, claims: string] {
    const key = `${this.prefix}:doc:${id}`;
    return [key, `${key}:pages`, `${key}:events`, `${key}:claims`];
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
        owner: doc.owner ?? '',
        status: 'queued' satisfies DocumentStatus,
      })
      .expire(key, this.ttlSeconds)
      .exec();
  }

  async discard(id: string): Promise<void> {
    await this.redis.del(...this.keys(id));
  }

  /**
   * The next attempt's claim on a page, made by `worker` for a job that has stalled `stalls`
   * times; undefined once the document has ended (or expired).
   */
  async claim(id: string, page: number, worker: string, stalls: number): Promise<ClaimedPage | undefined> {
    const [doc, , , claims] = this.keys(id);
    const reply = await this.redis.eval(CLAIM, 2, doc, claims, page, this.ttlSeconds, worker, stalls);
    if (!Array.isArray(reply)) return undefined;
    const [attempt, previous, newStalls, deaths] = reply as [number, string, number, number];
    return { documentId: id, page, attempt, newStalls, deaths, ...(previous ? { previousWorker: previous } : {}) };
  }

  /** Counts `deaths` more deaths of a worker on a page; resolves with the page's total. */
  async died(claim: PageClaim, deaths: number): Promise<number> {
    const [, , , claims] = this.keys(claim.documentId);
    return (await this.redis.eval(DIED, 1, claims, claim.page, deaths, this.ttlSeconds)) as number;
  }

  async complete(claim: PageClaim, record: PageRecord & { status: 'completed' }): Promise<CommitOutcome> {
    const { documentId, page, attempt } = claim;
    const outcome = await this.redis.eval(
      COMPLETE,
      4,
      ...this.keys(documentId),
      page,
      attempt,
      encodeRecord(record),
      record.confidence,
      this.ttlSeconds,
    );
    return outcome as CommitOutcome;
  }

  /** Records a page's final failure; false when the document had ended or the page was on record. */
  async fail(id: string, page: number, record: PageRecord & { status: 'failed' }): Promise<boolean> {
    const outcome = await this.redis.eval(FAIL, 4, ...this.keys(id), page, encodeRecord(record), this.ttlSeconds);
    return outcome === 'recorded';
  }

  /** Sets the final status unless the document already ended; true if it did. */
  async finish(id: string, status: DocumentStatus, error: string): Promise<boolean> {
    const outcome = await this.redis.eval(
      FINISH,
      4,
      ...this.keys(id),
      status,
      new Date().toISOString(),
      error,
      this.ttlSeconds,
    );
    return outcome === 'finished';
  }

  async cancel(id: string): Promise<void> {
    const [key, , events, claims] = this.keys(id);
    await this.redis
      .multi()
      .hset(key, { status: 'canceled' satisfies DocumentStatus, finishedAt: new Date().toISOString() })
      .expire(key, this.ttlSeconds)
      .xadd(events, '*', 'type', 'end', 'status', 'canceled' satisfies DocumentStatus)
      .expire(events, this.ttlSeconds)
      // Running attempts lose their claims: none records a page of a canceled document.
      .del(claims)
      .exec();
  }

  /** Up to `count` events after the entry `after` ('0': from the start). */
  async events(id: string, after: string, count: number): Promise<DocumentEvent[]> {
    const entries = await this.redis.xrange(this.keys(id)[2], `(${after}`, '+', 'COUNT', count);
    return entries.map(([entryId, fields]) => toEvent(entryId, fields));
  }

  async get(id: string): Promise<OwnedDocument | undefined> {
    const [key, pagesKey] = this.keys(id);
    const replies = await this.redis.multi().hgetall(key).hvals(pagesKey).exec();
    const [docReply, pagesReply] = replies ?? [];
    const failed = docReply?.[0] ?? pagesReply?.[0];
    if (failed) throw failed;
    const doc = docReply?.[1] as Record<string, string>;
    if (!doc.id) return undefined;
    const records = pagesReply?.[1] as string[];
    const state: OwnedDocument = {
      id: doc.id,
      status: doc.status as DocumentStatus,
      pageCount: Number(doc.pageCount),
      pages: doc.pages ?? everyPage(Number(doc.pageCount)),
      pagesDone: countRecords(records, 'completed'),
      pagesFailed: countRecords(records, 'failed'),
      languages: doc.languages ?? '',
      dpi: Number(doc.dpi),
      outputs: (doc.outputs ? doc.outputs.split(',') : ['text', 'json']) as Output[],
      createdAt: doc.createdAt ?? '',
    };
    if (doc.finishedAt) state.finishedAt = doc.finishedAt;
    if (doc.error) state.error = doc.error;
    if (doc.owner) state.owner = doc.owner;
    return state;
  }

  /** The records of `pages`, in their order (undefined: the page has not ended). */
  async records(id: string, pages: readonly number[]): Promise<Array<PageRecord | undefined>> {
    if (pages.length === 0) return [];
    const values = await this.redis.hmget(this.keys(id)[1], ...pages.map(String));
    return values.map((value) => (value === null ? undefined : decodeRecord(value)));
  }

  /** Every page record, as stored: kept with the saved state. */
  async allRecords(id: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys(id)[1]);
  }

  /** The document's callback URL; undefined when it has none (or has expired). */
  async callbackUrl(id: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys(id)[0], 'callbackUrl')) || undefined;
  }

  /** Which of `ids` Redis still knows (RESULT_TTL has not expired them). */
  async known(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.exists(this.keys(id)[0]);
    const replies = (await pipeline.exec()) ?? [];
    return new Set(
      ids.filter((_, i) => {
        const [err, exists] = replies[i] ?? [];
        if (err) throw err;
        return exists === 1;
      }),
    );
  }

  async isFinished(id: string): Promise<boolean> {
    const status = await this.redis.hget(this.keys(id)[0], 'status');
    return status !== null && FINISHED_STATUSES.has(status as DocumentStatus);
  }
}

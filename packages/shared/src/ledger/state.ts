import type { RedisClient } from '../redis.js';
import type { DocumentState, DocumentStatus, Output } from '@pagefleet/contract';
import { OPEN_TENANT } from '../tenants.js';
import { decodeRecord, encodeRecord, type PageRecord } from './records.js';

// Every script first checks that the document is still running: nothing a late attempt does
// turns a finished or canceled document back, or changes what it recorded.
const RUNNING = `
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'queued' and status ~= 'processing' then return 'ended' end`;

// Each event written is also published on its stream's key as a channel (EventBell), so that the
// streams following the document read it at once. With pcall: a Redis user whose ACL grants no
// channels records its events all the same, and its streams find them by looking every so often.
//
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
  redis.pcall('PUBLISH', KEYS[3], 'page')
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

/**
 * KEYS ingesting, replay key (optional) · ARGV id, replay value, ttl → 1, or 0 when the ingest's
 * lease ran out and the sweeper took the document away. The Idempotency-Key is recorded in the
 * same step: a retry after a crash finds the document accepted, or no document at all.
 */
const ACCEPT = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
if KEYS[2] then redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3]) end
return 1`;

/**
 * KEYS doc, pages, events, claims · ARGV ttl, then field/value pairs of the document, then
 * 'records' and page/record pairs, then 'claims' and page/attempt pairs → 1, or 0 when Redis
 * knows the document already (someone else restored it, or it was never lost).
 */
const RESTORE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local target = KEYS[1]
for i = 2, #ARGV, 2 do
  if ARGV[i] == 'records' then target = KEYS[2]
  elseif ARGV[i] == 'claims' then target = KEYS[4]
  else redis.call('HSET', target, ARGV[i], ARGV[i + 1]) end
end
for _, key in ipairs({KEYS[1], KEYS[2], KEYS[4]}) do redis.call('EXPIRE', key, ARGV[1]) end
return 1`;

/** KEYS doc, events, claims · ARGV finishedAt, ttl → 0 when Redis does not know the document. */
const CANCEL = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'canceled', 'finishedAt', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], '*', 'type', 'end', 'status', 'canceled')
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.pcall('PUBLISH', KEYS[2], 'end')
redis.call('DEL', KEYS[3])
return 1`;

/** KEYS doc, pages, events, claims · ARGV status, finishedAt, error, ttl. */
const FINISH = `${RUNNING}
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'finishedAt', ARGV[2], 'error', ARGV[3])
redis.call('XADD', KEYS[3], '*', 'type', 'end', 'status', ARGV[1])
redis.pcall('PUBLISH', KEYS[3], 'end')
for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ARGV[4]) end
return 'finished'`;

const documentKey = (prefix: string, id: string) => `${prefix}:doc:${id}`;

/** A document's event stream, whose key is also the channel its events are published on. */
export const eventsKey = (prefix: string, id: string) => `${documentKey(prefix, id)}:events`;

/** The channels of every document's events. */
export const eventsPattern = (prefix: string) => eventsKey(prefix, '*');

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

/** Which of a tenant's open documents are counted: all of them, or its interactive ones. */
export type OpenLane = 'all' | 'interactive';

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
  /**
   * Its tenant's counts of open pages it joins: those whose limits apply to it (`all` where the
   * tenant's queued pages are limited, `interactive` for an interactive document). A count with
   * no limit would only grow.
   */
  counted?: readonly OpenLane[];
}

/**
 * A document's state with what only the service may see: who owns it (unset: anyone may see it)
 * and where its webhook goes.
 */
export type OwnedDocument = DocumentState & { owner?: string; callbackUrl?: string };

/** Records an accepted document's Idempotency-Key with it, in one step. */
export interface Replay {
  key: string;
  value: string;
  ttlSeconds: number;
}

/** Runs one write to Redis (every write here is safe to run again). */
export type Writer = <T>(fn: () => Promise<T>) => Promise<T>;

/** A document's status in Redis, when it ended, and whether its ingest is still under way (not yet accepted). */
export interface LiveStatus {
  status: DocumentStatus;
  finishedAt?: string;
  ingesting: boolean;
}

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

/** A document's hash in Redis, as written when it is created (or put back after Redis lost it). */
const documentFields = (doc: NewDocument, status: DocumentStatus) => ({
  id: doc.id,
  pageCount: doc.pageCount,
  pages: doc.pages,
  languages: doc.languages,
  dpi: doc.dpi,
  createdAt: doc.createdAt,
  outputs: doc.outputs.join(','),
  callbackUrl: doc.callbackUrl ?? '',
  owner: doc.owner ?? '',
  status,
});

/** The replies of a pipeline, in order; the first error in it is thrown. */
function repliesOf(results: Array<[Error | null, unknown]> | null): unknown[] {
  const failed = results?.find(([err]) => err)?.[0];
  if (failed) throw failed;
  return (results ?? []).map(([, reply]) => reply);
}

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
    /** Makes each write: workers wait out a Redis that refuses writes, the API fails at once. */
    private readonly write: Writer = (fn) => fn(),
  ) {}

  private keys(id: string): [doc: string, pages: string, events: string, claims: string] {
    const key = documentKey(this.prefix, id);
    return [key, `${key}:pages`, `${key}:events`, `${key}:claims`];
  }

  /** Documents being ingested, by the end of their lease (ms since the epoch). */
  private get ingesting(): string {
    return `${this.prefix}:ingesting`;
  }

  /** A tenant's documents (its interactive ones) that may still have pages to read (see `openPages`). */
  private openOf(tenant: string, lane: OpenLane): string {
    return `${this.prefix}:${lane === 'interactive' ? 'tenant-interactive' : 'tenant-open'}:${tenant}`;
  }

  /**
   * Records a new document, still being ingested until `accept`: if nobody accepts it before
   * `leaseUntil` (its API died), the sweeper removes it. The document joins the tenant's counts
   * of open documents it is `counted` in at once, so that concurrent submissions count each other.
   */
  async create(doc: NewDocument, leaseUntil: number): Promise<void> {
    const [key] = this.keys(doc.id);
    const tenant = doc.owner ?? OPEN_TENANT;
    await this.write(() => {
      const multi = this.redis
        .multi()
        .zadd(this.ingesting, leaseUntil, doc.id)
        .hset(key, documentFields(doc, 'queued'))
        .expire(key, this.ttlSeconds);
      for (const lane of doc.counted ?? []) {
        multi
          .zadd(this.openOf(tenant, lane), String(doc.pageCount), doc.id)
          .expire(this.openOf(tenant, lane), this.ttlSeconds);
      }
      return multi.exec();
    });
  }

  /**
   * Pages of a tenant's running documents not yet read (completed or failed), from each one's
   * page count and records; documents that have ended, or that Redis no longer knows, leave the
   * tenant's set as they are met.
   */
  async openPages(tenant: string, lane: OpenLane): Promise<number> {
    const open = this.openOf(tenant, lane);
    const ids = await this.redis.zrange(open, '0', '-1');
    if (ids.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    for (const id of ids) {
      const [key, pages] = this.keys(id);
      pipeline.hmget(key, 'status', 'pageCount').hlen(pages);
    }
    const replies = repliesOf(await pipeline.exec());
    let total = 0;
    const ended: string[] = [];
    for (const [i, id] of ids.entries()) {
      const [status, pageCount] = replies[2 * i] as Array<string | null>;
      if (status === 'queued' || status === 'processing') {
        total += Math.max(0, Number(pageCount) - Number(replies[2 * i + 1]));
      } else {
        ended.push(id);
      }
    }
    if (ended.length > 0) await this.write(() => this.redis.zrem(open, ...ended));
    return total;
  }

  /** Extends an ingest's lease; false when the sweeper has taken the document away. */
  async renew(id: string, leaseUntil: number): Promise<boolean> {
    return (await this.write(() => this.redis.zadd(this.ingesting, 'XX', 'CH', leaseUntil, id))) === 1;
  }

  /** Ends an ingest; false when its lease ran out first. `replay` records its Idempotency-Key. */
  async accept(id: string, replay?: Replay): Promise<boolean> {
    const keys = replay ? [this.ingesting, replay.key] : [this.ingesting];
    const outcome = await this.write(() =>
      this.redis.eval(ACCEPT, keys.length, ...keys, id, replay?.value ?? '', replay?.ttlSeconds ?? 0),
    );
    return outcome === 1;
  }

  /** Ingests whose lease ran out before `now`, at most `count`. */
  async lapsedIngests(now: number, count: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.ingesting, '-inf', now, 'LIMIT', 0, count);
  }

  /** Takes a lapsed ingest away from its API; true for the one caller that does. */
  async release(id: string): Promise<boolean> {
    return (await this.write(() => this.redis.zrem(this.ingesting, id))) === 1;
  }

  async discard(id: string): Promise<void> {
    await this.write(() => this.redis.del(...this.keys(id)));
  }

  /**
   * Puts back a document Redis lost, from its saved state: status processing, its page records,
   * and each completed page's claim by the attempt recorded (so that this attempt, if it still
   * runs, may record the page again). False when Redis knows it already.
   */
  async restore(doc: OwnedDocument, records: ReadonlyMap<number, PageRecord>): Promise<boolean> {
    const entries = [...records];
    const args = [
      ...Object.entries(documentFields(doc, 'processing')).flat(),
      'records',
      '',
      ...entries.flatMap(([page, record]) => [page, encodeRecord(record)]),
      'claims',
      '',
      ...entries.flatMap(([page, record]) => (record.status === 'completed' ? [page, record.attempt] : [])),
    ];
    return (await this.write(() => this.redis.eval(RESTORE, 4, ...this.keys(doc.id), this.ttlSeconds, ...args))) === 1;
  }

  /**
   * The next attempt's claim on a page, made by `worker` for a job that has stalled `stalls`
   * times; undefined once the document has ended (or expired).
   */
  async claim(id: string, page: number, worker: string, stalls: number): Promise<ClaimedPage | undefined> {
    const [doc, , , claims] = this.keys(id);
    const reply = await this.write(() => this.redis.eval(CLAIM, 2, doc, claims, page, this.ttlSeconds, worker, stalls));
    if (!Array.isArray(reply)) return undefined;
    const [attempt, previous, newStalls, deaths] = reply as [number, string, number, number];
    return { documentId: id, page, attempt, newStalls, deaths, ...(previous ? { previousWorker: previous } : {}) };
  }

  /** Counts `deaths` more deaths of a worker on a page; resolves with the page's total. */
  async died(claim: PageClaim, deaths: number): Promise<number> {
    const [, , , claims] = this.keys(claim.documentId);
    return (await this.write(() => this.redis.eval(DIED, 1, claims, claim.page, deaths, this.ttlSeconds))) as number;
  }

  async complete(claim: PageClaim, record: PageRecord & { status: 'completed' }): Promise<CommitOutcome> {
    const { documentId, page, attempt } = claim;
    const outcome = await this.write(() =>
      this.redis.eval(
        COMPLETE,
        4,
        ...this.keys(documentId),
        page,
        attempt,
        encodeRecord(record),
        record.confidence,
        this.ttlSeconds,
      ),
    );
    return outcome as CommitOutcome;
  }

  /** Records a page's final failure; false when the document had ended or the page was on record. */
  async fail(id: string, page: number, record: PageRecord & { status: 'failed' }): Promise<boolean> {
    const outcome = await this.write(() =>
      this.redis.eval(FAIL, 4, ...this.keys(id), page, encodeRecord(record), this.ttlSeconds),
    );
    return outcome === 'recorded';
  }

  /** Sets the final status unless the document already ended; true if it did. */
  async finish(id: string, status: DocumentStatus, error: string): Promise<boolean> {
    const finishedAt = new Date().toISOString();
    const outcome = await this.write(() =>
      this.redis.eval(FINISH, 4, ...this.keys(id), status, finishedAt, error, this.ttlSeconds),
    );
    return outcome === 'finished';
  }

  /**
   * Ends the document as canceled; running attempts lose their claims, so none records a page of
   * it. False when Redis does not know the document.
   */
  async cancel(id: string, finishedAt: string): Promise<boolean> {
    const [key, , events, claims] = this.keys(id);
    return (await this.write(() => this.redis.eval(CANCEL, 3, key, events, claims, finishedAt, this.ttlSeconds))) === 1;
  }

  /** Up to `count` events after the entry `after` ('0': from the start). */
  async events(id: string, after: string, count: number): Promise<DocumentEvent[]> {
    const entries = await this.redis.xrange(this.keys(id)[2], `(${after}`, '+', 'COUNT', count);
    return entries.map(([entryId, fields]) => toEvent(entryId, fields));
  }

  async get(id: string): Promise<OwnedDocument | undefined> {
    const [key, pagesKey] = this.keys(id);
    // A pipeline, not a transaction: a full Redis discards every transaction, reads included.
    const [docReply, pagesReply] = repliesOf(await this.redis.pipeline().hgetall(key).hvals(pagesKey).exec());
    const doc = docReply as Record<string, string>;
    if (!doc.id) return undefined;
    const records = pagesReply as string[];
    const state: OwnedDocument = {
      id: doc.id,
      status: doc.status as DocumentStatus,
      pageCount: Number(doc.pageCount),
      pages: doc.pages ?? '',
      pagesDone: countRecords(records, 'completed'),
      pagesFailed: countRecords(records, 'failed'),
      languages: doc.languages ?? '',
      dpi: Number(doc.dpi),
      outputs: (doc.outputs ?? '').split(',').filter(Boolean) as Output[],
      createdAt: doc.createdAt ?? '',
    };
    if (doc.finishedAt) state.finishedAt = doc.finishedAt;
    if (doc.error) state.error = doc.error;
    if (doc.owner) state.owner = doc.owner;
    if (doc.callbackUrl) state.callbackUrl = doc.callbackUrl;
    return state;
  }

  /**
   * The records of `pages`, in their order (undefined: the page has not ended); undefined when
   * Redis does not know the document.
   */
  async records(id: string, pages: readonly number[]): Promise<Array<PageRecord | undefined> | undefined> {
    const [key, pagesKey] = this.keys(id);
    const [exists, values] = repliesOf(
      await this.redis
        .pipeline()
        .exists(key)
        .hmget(pagesKey, ...pages.map(String))
        .exec(),
    );
    if (exists !== 1) return undefined;
    return (values as Array<string | null>).map((value) => (value === null ? undefined : decodeRecord(value)));
  }

  /** Every page record, as stored: kept with the saved state. */
  async allRecords(id: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys(id)[1]);
  }

  /** The status of each of `ids` that Redis knows, and whether it is still being ingested. */
  async statuses(ids: readonly string[]): Promise<Map<string, LiveStatus>> {
    if (ids.length === 0) return new Map();
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(this.keys(id)[0], 'status', 'finishedAt').zscore(this.ingesting, id);
    const replies = repliesOf(await pipeline.exec());
    const found = new Map<string, LiveStatus>();
    for (const [i, id] of ids.entries()) {
      const [status, finishedAt] = replies[2 * i] as Array<string | null>;
      const lease = replies[2 * i + 1];
      if (!status) continue;
      found.set(id, {
        status: status as DocumentStatus,
        ...(finishedAt ? { finishedAt } : {}),
        ingesting: lease !== null,
      });
    }
    return found;
  }

  /**
   * Sets the key that says Redis still holds its data; true when it was missing, i.e. Redis has
   * lost its data (or this is its first use) since the key was last set. One caller gets true.
   */
  async forgotten(): Promise<boolean> {
    return (await this.write(() => this.redis.set(`${this.prefix}:memory`, new Date().toISOString(), 'NX'))) === 'OK';
  }
}

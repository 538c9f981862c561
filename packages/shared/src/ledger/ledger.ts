import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { RedisClient } from '../redis.js';
import {
  FINISHED_STATUSES,
  type DocumentState,
  type DocumentStatus,
  type PageFormat,
  type PageResult,
} from '@pagefleet/contract';
import type { DocumentJob, PageSource } from '../jobs.js';
import { expandPages } from '../page-ranges.js';
import { readBlob, type BlobStore } from '../storage/blob-store.js';
import type { PageFailure } from './failures.js';
import { documentKeys, DOCUMENTS_PREFIX, isJobId, parsePageKey } from './layout.js';
import { decodeRecord, type PageRecord } from './records.js';
import {
  RedisState,
  type ClaimedPage,
  type CommitOutcome,
  type DocumentEvent,
  type LiveStatus,
  type NewDocument,
  type OpenLane,
  type OwnedDocument,
  type PageClaim,
  type Replay,
  type Writer,
} from './state.js';

/**
 * A document as saved beside its files: its state and page records. Written when it is accepted,
 * ended and canceled: the record of the document when Redis has lost it.
 */
type SavedDocument = OwnedDocument & { records: Record<string, string> };

/** A document being ingested: it exists for good once accepted, before its lease runs out. */
export interface PendingDocument {
  /** Makes it a document for good; false when its lease ran out first (then nothing is left of it). */
  accept(replay?: Replay): Promise<boolean>;
  /** Removes it and everything it stored. */
  discard(): Promise<void>;
}

export interface LedgerOptions {
  /** Redis key prefix (QUEUE_PREFIX). */
  prefix: string;
  /** RESULT_TTL: how long an ended document is kept. */
  ttlSeconds: number;
  /** How long an ingest lives without renewing its lease (its API is taken for dead after it). */
  ingestLeaseMs: number;
  /**
   * Queues a document's own job again, for a document Redis lost: it assembles what its pages
   * stored and ends it. Without it (tests of the ledger alone), lost documents are not recovered.
   */
  restart?: (job: DocumentJob) => Promise<void>;
  /** How each write to Redis is made: workers wait out a Redis that refuses writes (WriteGate). */
  writes?: Writer;
}

/** What a reconciling pass over the stored documents did. */
export interface Reconciled {
  /** Documents removed: past RESULT_TTL by their own saved state, or ingests that never ended. */
  expired: number;
  /** Running documents Redis had lost, put back and driven to their end. */
  recovered: number;
}

/** A folder with no saved state that Redis does not know is an ingest that died if untouched this long. */
const ABANDONED_AFTER_MS = 3_600_000;

/** Lapsed ingests removed per sweep; the next sweep takes the rest. */
const SWEEP_BATCH = 100;

/** Documents whose Redis status is asked in one round trip while reconciling. */
const RECONCILE_BATCH = 100;

/** Why a page has no record after Redis lost its document: it was not stored before the loss. */
const LOST: PageFailure = {
  reason: 'lost',
  error:
    'Redis lost this document while the page was being read (a restart without persistence, FLUSHALL, eviction); submit it again to read it',
};

/** A saved state as Redis would give it. */
function fromSaved(saved: SavedDocument): OwnedDocument {
  const { records: _, ...state } = saved;
  return state;
}

/** The job that assembles a document's pages and ends it. */
const documentJob = (doc: DocumentState): DocumentJob => ({
  documentId: doc.id,
  pageCount: doc.pageCount,
  pages: doc.pages,
  pdf: doc.outputs.includes('pdf'),
});

const withoutSecrets = ({ owner: _owner, callbackUrl: _callback, ...state }: OwnedDocument): DocumentState => state;

/** An uploaded file on local disk, and its name in the document (`0.pdf`). */
export interface InputFile {
  name: string;
  file: string;
}

const failedResult = (page: number, failure: PageFailure): PageResult => ({
  page,
  status: 'failed',
  text: '',
  confidence: 0,
  words: [],
  reason: failure.reason,
  error: failure.error,
  ...(failure.stage ? { stage: failure.stage } : {}),
});

/**
 * The one owner of a document's life: its state machine (queued → processing → completed,
 * partial, failed or canceled), its page records, and every byte it stores. State and records are
 * in Redis, the working copy; files in the blob store, with the document's saved state (written
 * when it is accepted, ends or is canceled), the record it is read and recovered from while Redis
 * is away or after Redis lost it.
 *
 * Page results are fenced: an attempt claims its page when it starts, writes its files under its
 * own attempt number, and its result is recorded only while it still holds the page's latest
 * claim and the document is running. A worker paused past its lock, whose page another attempt
 * took over, can therefore never overwrite what was recorded.
 */
export class DocumentLedger {
  private readonly state: RedisState;

  constructor(
    redis: RedisClient,
    private readonly blobs: BlobStore,
    private readonly options: LedgerOptions,
  ) {
    this.state = new RedisState(redis, options.prefix, options.ttlSeconds, options.writes);
  }

  /**
   * Records a new document, then moves its uploads into the store, under a lease that this
   * process renews until the document is accepted (its jobs are queued) or discarded. An API that
   * dies before that leaves a lapsed lease, and the sweeper removes the document: an ingest either
   * ends accepted or leaves nothing. Nothing is left of it when this rejects.
   */
  async create(doc: NewDocument, inputs: readonly InputFile[]): Promise<PendingDocument> {
    const lease = () => Date.now() + this.options.ingestLeaseMs;
    await this.state.create(doc, lease());
    const renewal = setInterval(
      () => void this.state.renew(doc.id, lease()).catch(() => undefined),
      this.options.ingestLeaseMs / 3,
    );
    renewal.unref();
    const discard = async () => {
      clearInterval(renewal);
      await this.discard(doc.id);
    };
    try {
      const keys = documentKeys(doc.id);
      for (const { name, file } of inputs) await this.blobs.putFile(keys.input(name), file);
    } catch (err) {
      await discard().catch(() => undefined);
      throw err;
    }
    return {
      accept: async (replay) => {
        clearInterval(renewal);
        if (!(await this.state.accept(doc.id, replay))) {
          await this.discard(doc.id);
          return false;
        }
        const { callbackUrl, ...rest } = doc;
        // After the acceptance, so that only an accepted document is ever recovered from it. A
        // document whose state could not be saved now runs all the same, and is saved when it ends.
        await this.save({
          ...rest,
          ...(callbackUrl ? { callbackUrl } : {}),
          status: 'queued',
          pagesDone: 0,
          pagesFailed: 0,
          records: {},
        }).catch(() => undefined);
        return true;
      },
      discard,
    };
  }

  /**
   * Forgets a document whose ingest failed or lapsed. It is ended first, so that no page an
   * attempt is reading can record (and store) anything after its bytes are removed.
   */
  private async discard(id: string): Promise<void> {
    await this.state.cancel(id, new Date().toISOString());
    await this.blobs.deletePrefix(documentKeys(id).root);
    await this.state.discard(id);
  }

  /** Removes the documents whose ingest lease ran out (their API died mid-ingest); resolves with how many. */
  async sweepIngests(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const id of await this.state.lapsedIngests(now, SWEEP_BATCH)) {
      if (!(await this.state.release(id))) continue;
      // Pages queued before the API died find their document gone and end at once.
      await this.discard(id);
      removed++;
    }
    return removed;
  }

  /**
   * Claims a page for a new attempt by `worker`, whose BullMQ job has stalled `stalls` times;
   * undefined when its document has ended (canceled, expired).
   */
  pageStarted(id: string, page: number, worker: string, stalls: number): Promise<ClaimedPage | undefined> {
    return this.state.claim(id, page, worker, stalls);
  }

  /**
   * Counts the deaths of the workers that ran a page before `claim` (a stalled job whose worker
   * is gone); resolves with the page's deaths so far.
   */
  pageDied(claim: PageClaim, deaths: number): Promise<number> {
    return this.state.died(claim, deaths);
  }

  /**
   * Whether multi-page PDFs should be split before their pages are read: where workers must
   * download what they read, each then fetches its own page, not the whole file.
   */
  get splitsPdfs(): boolean {
    return !this.blobs.keepsFiles;
  }

  /** A local path to one of the document's inputs (see BlobStore.localFile). */
  inputFile(id: string, file: string, scratch: string): Promise<string | undefined> {
    return this.blobs.localFile(documentKeys(id).input(file), scratch);
  }

  /** Stores page `index` of input `file` as its own one-page PDF (moved from `local`). */
  async storeInputPage(id: string, file: string, index: number, local: string): Promise<void> {
    await this.blobs.putFile(documentKeys(id).inputPage(file, index), local);
  }

  /**
   * A local path to what a page reads, and the page's index in it: its own one-page PDF where
   * its document was split, else the whole input. Undefined when it is not stored.
   */
  async pageInput(
    id: string,
    source: PageSource,
    scratch: string,
  ): Promise<{ file: string; index: number; fetchedBytes: number } | undefined> {
    const keys = documentKeys(id);
    const [key, index] = source.split
      ? [keys.inputPage(source.file, source.index), 1]
      : [keys.input(source.file), source.index];
    const file = await this.blobs.localFile(key, scratch);
    if (!file) return undefined;
    return { file, index, fetchedBytes: file === scratch ? (await stat(file)).size : 0 };
  }

  /**
   * Stores the attempt's files (its extra formats first, its result last), then records the page
   * as completed unless the attempt no longer owns it, in which case its files are removed.
   */
  async pageCompleted(
    claim: PageClaim,
    result: PageResult,
    formats: Partial<Record<PageFormat, Buffer>>,
  ): Promise<CommitOutcome> {
    const keys = documentKeys(claim.documentId);
    for (const [format, data] of Object.entries(formats) as Array<[PageFormat, Buffer]>) {
      await this.blobs.put(keys.pageOutput(claim.page, claim.attempt, format), data);
    }
    await this.blobs.put(keys.pageResult(claim.page, claim.attempt), JSON.stringify(result));
    const outcome = await this.state.complete(claim, {
      status: 'completed',
      attempt: claim.attempt,
      confidence: result.confidence,
    });
    // Refused: the files are this attempt's own (numbered), never those of the attempt recorded.
    if (outcome !== 'recorded') await this.blobs.deletePrefix(keys.pageFiles(claim.page, claim.attempt));
    return outcome;
  }

  /**
   * Records that a page will not be retried. Idempotent; a page that completed (its worker died
   * after recording it) keeps its result; an attempt still running loses its claim.
   */
  async pageFailed(id: string, page: number, failure: PageFailure): Promise<void> {
    if (!(await this.state.fail(id, page, { status: 'failed', attempt: 0, failure }))) return;
    // A copy for the document's recovery should Redis lose it. Only a copy: a full disk (a page
    // failed for `storage`) must not keep the failure from being recorded.
    await this.blobs.put(documentKeys(id).pageFailure(page), JSON.stringify(failure)).catch(() => undefined);
  }

  /** The ended pages' results, in order (undefined: not ended yet), read one page file at a time. */
  async pageResults(id: string, pages: readonly number[]): Promise<Array<PageResult | undefined>> {
    const records = await this.records(id, pages);
    const results: Array<PageResult | undefined> = [];
    for (const [i, page] of pages.entries()) results.push(await this.resultOf(id, page, records[i]));
    return results;
  }

  /** The pages of `pages` that have no record yet (neither completed nor failed). */
  async unrecordedPages(id: string, pages: readonly number[]): Promise<number[]> {
    const records = await this.records(id, pages);
    return pages.filter((_, i) => records[i] === undefined);
  }

  async pageResult(id: string, page: number): Promise<PageResult | undefined> {
    return (await this.pageResults(id, [page]))[0];
  }

  /** A completed page's stored output; undefined when it has none. */
  async pageOutput(id: string, page: number, format: PageFormat): Promise<Readable | undefined> {
    const [record] = await this.records(id, [page]);
    if (record?.status !== 'completed') return undefined;
    return this.blobs.get(documentKeys(id).pageOutput(page, record.attempt, format));
  }

  /** Local paths to the completed pages' outputs of `format` (for pdfunite), skipping the others. */
  async pageOutputFiles(id: string, pages: readonly number[], format: PageFormat, scratch: string): Promise<string[]> {
    const records = await this.records(id, pages);
    const files: string[] = [];
    for (const [i, page] of pages.entries()) {
      const record = records[i];
      if (record?.status !== 'completed') continue;
      const key = documentKeys(id).pageOutput(page, record.attempt, format);
      const file = await this.blobs.localFile(key, `${scratch}/${page}.${format}`);
      if (file) files.push(file);
    }
    return files;
  }

  async storeText(id: string, text: Readable): Promise<void> {
    await this.blobs.put(documentKeys(id).text, text);
  }

  async storePdf(id: string, file: string): Promise<void> {
    await this.blobs.putFile(documentKeys(id).pdf, file);
  }

  text(id: string): Promise<Readable | undefined> {
    return this.blobs.get(documentKeys(id).text);
  }

  pdf(id: string): Promise<Readable | undefined> {
    return this.blobs.get(documentKeys(id).pdf);
  }

  /**
   * Ends the document with `status` unless it has already ended; true if this call ended it.
   * When it had (canceled while its text and PDF were assembled), what this job stored is removed:
   * nothing of a canceled document is written after its cancel.
   */
  async finish(id: string, status: DocumentStatus, error = ''): Promise<boolean> {
    if (await this.state.finish(id, status, error)) return true;
    const keys = documentKeys(id);
    await Promise.all([this.blobs.deletePrefix(keys.text), this.blobs.deletePrefix(keys.pdf)]);
    return false;
  }

  /**
   * Saves an ended document's state and page records beside its files, where they are read while
   * Redis is away or after it lost them. Apart from `finish`, so that a document ends even when
   * this cannot be written. A cancel that lands meanwhile is saved again after it, so that the
   * saved state never says less than Redis.
   */
  async saveFinished(id: string): Promise<void> {
    for (;;) {
      const [state, records] = await Promise.all([this.state.get(id), this.state.allRecords(id)]);
      if (!state) return;
      await this.save({ ...state, records });
      const now = await this.state.get(id);
      if (now?.status === state.status) return;
    }
  }

  /**
   * Ends the document as canceled, whatever its status, and removes everything it stored but its
   * saved state, which says canceled until RESULT_TTL.
   */
  async cancel(id: string): Promise<void> {
    const doc = await this.owned(id);
    if (!doc) return;
    const finishedAt = new Date().toISOString();
    await this.state.cancel(id, finishedAt);
    await this.blobs.deletePrefix(documentKeys(id).root);
    await this.save({ ...doc, status: 'canceled', finishedAt, records: {} });
  }

  /**
   * Pages of `tenant`'s running documents not yet read: what it has queued (its `maxQueuedPages`),
   * or of its interactive ones (its `maxInteractivePages`).
   */
  openPages(tenant: string, lane: OpenLane = 'all'): Promise<number> {
    return this.state.openPages(tenant, lane);
  }

  /**
   * The document (see `owned`). With `client` (the caller's tenant), a document another tenant
   * submitted is undefined, as if it did not exist.
   */
  async read(id: string, client?: string): Promise<DocumentState | undefined> {
    if (!isJobId(id)) return undefined;
    const found = await this.owned(id);
    if (!found) return undefined;
    return client !== undefined && found.owner !== undefined && found.owner !== client
      ? undefined
      : withoutSecrets(found);
  }

  /**
   * The document from Redis; from its saved state while Redis is away, or when Redis no longer
   * knows it. A running document Redis has lost is recovered here, on the first read that misses.
   */
  private async owned(id: string): Promise<OwnedDocument | undefined> {
    let live: OwnedDocument | undefined;
    try {
      live = await this.state.get(id);
    } catch (err) {
      const saved = await this.saved(id);
      if (!saved) throw err;
      return fromSaved(saved);
    }
    if (live) return live;
    const saved = await this.saved(id);
    if (!saved) return undefined;
    if (FINISHED_STATUSES.has(saved.status)) return fromSaved(saved);
    // Recovered by whoever reads first; until it can be (Redis refuses writes), as saved.
    return (await this.recover(saved).catch(() => undefined)) ?? fromSaved(saved);
  }

  /**
   * Puts back a running document that Redis lost: its pages whose results were stored keep them
   * (a failed page keeps its reason), the others fail with reason `lost`, and its document job is
   * queued again to assemble the text and end it, with its end event and webhook. The job is
   * queued first: if this process dies before the state is back, the job puts it back itself.
   */
  private async recover(saved: SavedDocument): Promise<OwnedDocument | undefined> {
    if (!this.options.restart) return undefined;
    const doc = fromSaved(saved);
    const pages = expandPages(doc.pages);
    await this.options.restart(documentJob(doc));
    const stored = await this.storedPages(doc.id);
    const records = new Map<number, PageRecord>();
    for (const page of pages) {
      const found = stored.get(page);
      records.set(
        page,
        found?.attempt !== undefined
          ? { status: 'completed', attempt: found.attempt, confidence: 0 }
          : { status: 'failed', attempt: 0, failure: found?.failure ?? LOST },
      );
    }
    await this.state.restore(doc, records);
    return this.state.get(doc.id);
  }

  /** What the blob store holds of each page: its latest stored result's attempt, or its failure. */
  private async storedPages(id: string): Promise<Map<number, { attempt?: number; failure?: PageFailure }>> {
    const found = new Map<number, { attempt?: number; failure?: PageFailure }>();
    const keys = documentKeys(id);
    for await (const { key } of this.blobs.list(keys.pages)) {
      const parsed = parsePageKey(key.slice(keys.pages.length));
      if (!parsed) continue;
      const entry = found.get(parsed.page) ?? {};
      if (parsed.kind === 'result') entry.attempt = Math.max(entry.attempt ?? 0, parsed.attempt);
      else {
        const data = await readBlob(this.blobs, key);
        if (data) entry.failure = JSON.parse(data.toString('utf8')) as PageFailure;
      }
      found.set(parsed.page, entry);
    }
    return found;
  }

  /** Whether the document has ended; one Redis no longer knows has ended as far as its jobs go. */
  async isFinished(id: string): Promise<boolean> {
    const doc = await this.owned(id);
    return doc === undefined || FINISHED_STATUSES.has(doc.status);
  }

  async callbackUrl(id: string): Promise<string | undefined> {
    return (await this.owned(id))?.callbackUrl;
  }

  events(id: string, after: string, count: number): Promise<DocumentEvent[]> {
    return this.state.events(id, after, count);
  }

  /**
   * Goes over every stored document and decides by its own saved state, never by what Redis has
   * forgotten: a document ended more than RESULT_TTL ago is removed; a running one Redis lost is
   * recovered; a running one Redis knows whose document job is gone or failed is driven to its
   * end; a folder with no saved state that Redis does not know (an ingest that died with its
   * Redis state) is removed once untouched for an hour.
   */
  async reconcile(now = Date.now()): Promise<Reconciled> {
    const done: Reconciled = { expired: 0, recovered: 0 };
    let batch: string[] = [];
    const settle = async () => {
      const live = await this.state.statuses(batch);
      for (const id of batch) {
        const status = live.get(id);
        const outcome = status ? await this.settleKnown(id, status, now) : await this.settleUnknown(id, now);
        if (outcome) done[outcome]++;
      }
      batch = [];
    };
    for await (const id of this.blobs.children(DOCUMENTS_PREFIX)) {
      if (!isJobId(id)) continue;
      batch.push(id);
      if (batch.length === RECONCILE_BATCH) await settle();
    }
    await settle();
    return done;
  }

  private async settleKnown(id: string, live: LiveStatus, now: number): Promise<keyof Reconciled | undefined> {
    if (live.ingesting) return undefined;
    if (FINISHED_STATUSES.has(live.status)) return this.expireIfDue(id, live.finishedAt, now);
    // Running: its document job ends it, unless that job is gone or failed for good.
    const doc = await this.state.get(id);
    if (doc && this.options.restart) await this.options.restart(documentJob(doc));
    return undefined;
  }

  private async expireIfDue(id: string, endedAt: string | undefined, now: number): Promise<'expired' | undefined> {
    if (endedAt === undefined || now < Date.parse(endedAt) + this.options.ttlSeconds * 1000) return undefined;
    await this.blobs.deletePrefix(documentKeys(id).root);
    return 'expired';
  }

  private async settleUnknown(id: string, now: number): Promise<keyof Reconciled | undefined> {
    const root = documentKeys(id).root;
    const saved = await this.saved(id);
    if (!saved) {
      let newest = 0;
      for await (const { modified } of this.blobs.list(root)) newest = Math.max(newest, modified.getTime());
      if (now - newest < ABANDONED_AFTER_MS) return undefined;
      await this.blobs.deletePrefix(root);
      return 'expired';
    }
    if (!FINISHED_STATUSES.has(saved.status)) {
      return (await this.recover(saved)) ? 'recovered' : undefined;
    }
    return this.expireIfDue(id, saved.finishedAt, now);
  }

  /** Whether Redis lost its data since this was last asked (one caller is told); see RedisState.forgotten. */
  forgotten(): Promise<boolean> {
    return this.state.forgotten();
  }

  private async save(doc: SavedDocument): Promise<void> {
    await this.blobs.put(documentKeys(doc.id).state, JSON.stringify(doc));
  }

  private async saved(id: string): Promise<SavedDocument | undefined> {
    const data = await readBlob(this.blobs, documentKeys(id).state);
    return data && (JSON.parse(data.toString('utf8')) as SavedDocument);
  }

  /** Records from Redis; while Redis is away or no longer knows the document, those of its saved state. */
  private async records(id: string, pages: readonly number[]): Promise<Array<PageRecord | undefined>> {
    let live: Array<PageRecord | undefined> | undefined;
    let failure: Error | undefined;
    try {
      live = await this.state.records(id, pages);
    } catch (err) {
      failure = err as Error;
    }
    if (live) return live;
    const saved = await this.saved(id);
    if (!saved) {
      if (failure) throw failure;
      return pages.map(() => undefined);
    }
    return pages.map((page) => {
      const value = saved.records[page];
      return value === undefined ? undefined : decodeRecord(value);
    });
  }

  private async resultOf(id: string, page: number, record: PageRecord | undefined): Promise<PageResult | undefined> {
    if (!record) return undefined;
    if (record.status === 'failed') return failedResult(page, record.failure);
    const data = await readBlob(this.blobs, documentKeys(id).pageResult(page, record.attempt));
    return data && (JSON.parse(data.toString('utf8')) as PageResult);
  }
}

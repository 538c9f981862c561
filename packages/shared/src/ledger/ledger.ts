import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { RedisClient } from '../redis.js';
import type { DocumentState, DocumentStatus, PageFormat, PageResult, PageSource } from '../jobs.js';
import { everyPage } from '../page-ranges.js';
import { readBlob, type BlobStore } from '../storage/blob-store.js';
import type { PageFailure } from './failures.js';
import { documentKeys, DOCUMENTS_PREFIX, isJobId } from './layout.js';
import { decodeRecord, type PageRecord } from './records.js';
import {
  RedisState,
  type ClaimedPage,
  type CommitOutcome,
  type DocumentEvent,
  type NewDocument,
  type OwnedDocument,
  type PageClaim,
} from './state.js';

/** A finished document as saved beside its files: its state and every page record. */
type SavedDocument = Omit<OwnedDocument, 'pages'> & { pages?: string; records?: Record<string, string> };

/** An uploaded file on local disk, and its name in the document (`0.pdf`). */
export interface InputFile {
  name: string;
  file: string;
}

/** Documents whose stored objects are checked for expiry per Redis round trip. */
const EXPIRE_BATCH = 100;

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
 * in Redis; files in the blob store; a finished document's state is also saved in the store, so
 * that it can be read while Redis is away.
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
    options: { prefix: string; ttlSeconds: number },
  ) {
    this.state = new RedisState(redis, options.prefix, options.ttlSeconds);
  }

  /**
   * Records a new document, then moves its uploads into the store. State comes first so that the
   * cleanup never takes a document being stored for an expired one. Nothing is left of it when
   * this rejects.
   */
  async create(doc: NewDocument, inputs: readonly InputFile[]): Promise<void> {
    await this.state.create(doc);
    try {
      const keys = documentKeys(doc.id);
      for (const { name, file } of inputs) await this.blobs.putFile(keys.input(name), file);
    } catch (err) {
      await this.discard(doc.id).catch(() => undefined);
      throw err;
    }
  }

  /** Forgets a document whose submission failed half-way. */
  async discard(id: string): Promise<void> {
    await Promise.all([this.state.discard(id), this.blobs.deletePrefix(documentKeys(id).root)]);
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
    await this.state.fail(id, page, { status: 'failed', attempt: 0, failure });
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

  /** Ends the document with `status` unless it has already ended; true if this call ended it. */
  finish(id: string, status: DocumentStatus, error = ''): Promise<boolean> {
    return this.state.finish(id, status, error);
  }

  /**
   * Saves an ended document's state and page records beside its files, where they are read while
   * Redis is away. Apart from `finish`, so that a document ends even when this cannot be written.
   */
  async saveFinished(id: string): Promise<void> {
    const [state, records] = await Promise.all([this.state.get(id), this.state.allRecords(id)]);
    if (state) await this.blobs.put(documentKeys(id).state, JSON.stringify({ ...state, records }));
  }

  /** Ends the document as canceled, whatever its status, and removes everything it stored. */
  async cancel(id: string): Promise<void> {
    await this.state.cancel(id);
    await this.blobs.deletePrefix(documentKeys(id).root);
  }

  /**
   * The document from Redis; while Redis is away, a finished one is read from its saved state.
   * With `client` (the digest of the caller's API key), a document another client submitted is
   * undefined, as if it did not exist.
   */
  async read(id: string, client?: string): Promise<DocumentState | undefined> {
    if (!isJobId(id)) return undefined;
    const found = await this.owned(id);
    if (!found) return undefined;
    const { owner, ...state } = found;
    return client !== undefined && owner !== undefined && owner !== client ? undefined : state;
  }

  private async owned(id: string): Promise<OwnedDocument | undefined> {
    try {
      return await this.state.get(id);
    } catch (err) {
      const saved = await this.saved(id);
      if (!saved) throw err;
      const { records: _, ...state } = saved;
      return { ...state, pages: saved.pages ?? everyPage(saved.pageCount) };
    }
  }

  isFinished(id: string): Promise<boolean> {
    return this.state.isFinished(id);
  }

  callbackUrl(id: string): Promise<string | undefined> {
    return this.state.callbackUrl(id);
  }

  events(id: string, after: string, count: number): Promise<DocumentEvent[]> {
    return this.state.events(id, after, count);
  }

  /** Removes the stored objects of documents that Redis has expired (RESULT_TTL); resolves with how many. */
  async expire(): Promise<number> {
    let removed = 0;
    let batch: string[] = [];
    const sweep = async () => {
      const known = await this.state.known(batch);
      for (const id of batch.filter((id) => !known.has(id))) {
        await this.blobs.deletePrefix(documentKeys(id).root);
        removed++;
      }
      batch = [];
    };
    for await (const id of this.blobs.children(DOCUMENTS_PREFIX)) {
      if (!isJobId(id)) continue;
      batch.push(id);
      if (batch.length === EXPIRE_BATCH) await sweep();
    }
    await sweep();
    return removed;
  }

  private async saved(id: string): Promise<SavedDocument | undefined> {
    const data = await readBlob(this.blobs, documentKeys(id).state);
    return data && (JSON.parse(data.toString('utf8')) as SavedDocument);
  }

  /** Records from Redis; while Redis is away, those of a finished document's saved state. */
  private async records(id: string, pages: readonly number[]): Promise<Array<PageRecord | undefined>> {
    try {
      return await this.state.records(id, pages);
    } catch (err) {
      const saved = await this.saved(id);
      if (!saved) throw err;
      // States saved before records were kept: each page's result is in its unnumbered file.
      const values = saved.records ?? {};
      return pages.map((page) => {
        const value = values[page] ?? (saved.records ? undefined : 'completed');
        return value === undefined ? undefined : decodeRecord(value);
      });
    }
  }

  private async resultOf(id: string, page: number, record: PageRecord | undefined): Promise<PageResult | undefined> {
    if (!record) return undefined;
    if (record.status === 'failed' && record.failure) return failedResult(page, record.failure);
    const data = await readBlob(this.blobs, documentKeys(id).pageResult(page, record.attempt));
    return data && (JSON.parse(data.toString('utf8')) as PageResult);
  }
}

import { randomUUID } from 'node:crypto';
import {
  formatPages,
  InvalidRequestError,
  PageRangeError,
  selectPages,
  isStorageFull,
  TenantLimitError,
  unavailable,
  UnavailableError,
  UnprocessableError,
  UnsupportedTypeError,
  type Config,
  type EngineChoice,
  type Dispatcher,
  type DocumentLedger,
  PAGE_FORMATS,
  type PendingDocument,
  type Output,
  type PageFormat,
  type PageJob,
  type OpenLane,
  type PageSource,
  type Priority,
  type Replay,
  type Tenant,
  type TenantDirectory,
} from '@pagefleet/shared';
import type { Limiter } from './limiter.js';
import { inspectFile, type InspectLimits } from './pages.js';
import { EXTENSIONS, sniffFile, type FileType } from './sniff.js';

export interface UploadedFile {
  path: string;
  /** The client's name for the file: shown in messages, never used in a path. */
  originalname: string;
  size: number;
}

export interface SubmitDeps {
  config: Config;
  ledger: DocumentLedger;
  dispatch: Dispatcher;
  redisReady: () => boolean;
  /** Bounds the pdfinfo children and image headers read at once, whatever the uploads in progress. */
  inspections: Limiter;
  tenants: TenantDirectory;
}

/** Seconds a tenant past its queued pages is asked to wait: a few pages' worth of work. */
const QUEUED_RETRY_SECONDS = 30;

/** Seconds a tenant past its interactive pages is asked to wait: interactive documents are small. */
const INTERACTIVE_RETRY_SECONDS = 5;

export interface Submission {
  languages: string;
  dpi: number;
  outputs: Output[];
  callbackUrl?: string | undefined;
  /** `1-3,7,10-` over the files' pages in upload order; unset, every page. */
  pages?: string | undefined;
  forceOcr: boolean;
  engine: EngineChoice;
  priority: Priority;
}

export interface Submitted {
  id: string;
  pageCount: number;
  createdAt: string;
}

interface CheckedFile extends UploadedFile {
  type: FileType;
  pages: number;
  pixels: number[];
  rotations?: number[];
}

async function checkFile(file: UploadedFile, limits: InspectLimits, inspections: Limiter): Promise<CheckedFile> {
  if (file.size === 0) throw new UnprocessableError('empty', `${file.originalname}: the file is empty`);
  const type = await sniffFile(file.path);
  if (!type) {
    throw new UnsupportedTypeError(`${file.originalname}: not a PDF, PNG, JPEG, TIFF or WebP file`);
  }
  return { ...file, type, ...(await inspections(() => inspectFile(file.path, type, file.originalname, limits))) };
}

/** The jobs of the selected pages, each numbered as the document's page it is. */
function pageJobs(
  id: string,
  files: CheckedFile[],
  submission: Submission,
  selected: ReadonlySet<number>,
  tenant: string,
): PageJob[] {
  const jobs: PageJob[] = [];
  const formats = submission.outputs.filter((output): output is PageFormat =>
    (PAGE_FORMATS as readonly string[]).includes(output),
  );
  let page = 0;
  for (const [fileIndex, file] of files.entries()) {
    for (let i = 0; i < file.pages; i++) {
      if (!selected.has(++page)) continue;
      const source: PageSource =
        file.type === 'pdf'
          ? { file: `${fileIndex}.pdf`, kind: 'pdf', index: i + 1, rotation: file.rotations?.[i] ?? 0 }
          : { file: `${fileIndex}.${EXTENSIONS[file.type]}`, kind: 'image', index: i };
      jobs.push({
        documentId: id,
        page,
        source,
        languages: submission.languages,
        dpi: submission.dpi,
        pixels: file.pixels[i] ?? 1,
        formats,
        forceOcr: submission.forceOcr,
        engine: submission.engine,
        tenant,
        priority: submission.priority,
      });
    }
  }
  return jobs;
}

/** The pages `spec` selects of a document of `total` pages: 400 on bad syntax, 422 past the end. */
function selection(spec: string | undefined, total: number): number[] {
  try {
    return selectPages(spec, total);
  } catch (err) {
    if (!(err instanceof PageRangeError)) throw err;
    throw err.reason === 'syntax'
      ? new InvalidRequestError(err.message)
      : new UnprocessableError('page_out_of_range', err.message);
  }
}

/**
 * Refuses a document that would take its tenant past its queued pages, or (interactive) past its
 * interactive pages: 429 while pages already queued are in the way, 422 for an interactive
 * document larger than the lane allows at all. Returns the counts the document joins: those
 * whose limits apply to it.
 */
async function checkOpenPages(
  ledger: DocumentLedger,
  tenant: Tenant,
  pageCount: number,
  priority: Priority,
): Promise<OpenLane[]> {
  const openOf = (lane: OpenLane) =>
    ledger.openPages(tenant.name, lane).catch((err: unknown) => {
      throw unavailable('the job queue is unreachable', err);
    });
  const counted: OpenLane[] = [];
  const limit = tenant.maxQueuedPages;
  if (limit !== undefined) {
    counted.push('all');
    const open = await openOf('all');
    if (open + pageCount > limit) {
      throw new TenantLimitError(
        `tenant ${tenant.name} has ${open} pages queued and this document ${pageCount}; its limit is ${limit}: retry when some are read`,
        QUEUED_RETRY_SECONDS,
      );
    }
  }
  if (priority !== 'interactive') return counted;
  if (pageCount > tenant.maxInteractivePages) {
    throw new UnprocessableError(
      'too_many_interactive_pages',
      `the document has ${pageCount} pages; an interactive document of tenant ${tenant.name} may have ${tenant.maxInteractivePages}: submit it with priority=batch`,
    );
  }
  const interactive = await openOf('interactive');
  if (interactive + pageCount > tenant.maxInteractivePages) {
    throw new TenantLimitError(
      `tenant ${tenant.name} has ${interactive} interactive pages queued and this document ${pageCount}; its limit is ${tenant.maxInteractivePages}: retry when some are read, or submit with priority=batch`,
      INTERACTIVE_RETRY_SECONDS,
    );
  }
  return [...counted, 'interactive'];
}

/**
 * Checks every file, records a new document in the ledger (which takes the uploads into storage),
 * enqueues one flow (a document job whose children are its pages), then accepts the document,
 * recording its Idempotency-Key (`replay`) in the same step. Whatever fails leaves neither stored
 * objects nor Redis entries behind, and an API that dies in the middle leaves a lease that lapses
 * (the ledger's sweeper removes the document); the caller removes the uploads not taken.
 * `owner` (the submitter's tenant, where keys are in use) alone may see the document.
 */
export async function submitDocument(
  deps: SubmitDeps,
  uploads: UploadedFile[],
  submission: Submission,
  owner?: string,
  replay?: (id: string) => Replay,
): Promise<Submitted> {
  if (!deps.redisReady()) throw new UnavailableError('the job queue is unreachable; retry shortly');
  const { config } = deps;
  const limits = {
    dpi: submission.dpi,
    maxPixels: config.MAX_PAGE_PIXELS,
    maxPages: config.MAX_PAGES,
    timeoutMs: config.PDFINFO_TIMEOUT_MS,
  };
  const files: CheckedFile[] = [];
  for (const upload of uploads) files.push(await checkFile(upload, limits, deps.inspections));
  const total = files.reduce((sum, file) => sum + file.pages, 0);
  if (total > deps.config.MAX_PAGES) {
    throw new UnprocessableError(
      'too_many_pages',
      `the document has ${total} pages; the limit is ${deps.config.MAX_PAGES} (MAX_PAGES)`,
    );
  }
  const selected = selection(submission.pages, total);
  const pageCount = selected.length;
  const tenant = deps.tenants.named(owner);
  const counted = await checkOpenPages(deps.ledger, tenant, pageCount, submission.priority);

  const id = randomUUID();
  const createdAt = new Date().toISOString();
  const pages = pageJobs(id, files, submission, new Set(selected), tenant.name);
  const doc = {
    id,
    pageCount,
    createdAt,
    ...submission,
    pages: formatPages(selected),
    counted,
    ...(owner ? { owner } : {}),
  };
  const inputs = files.map((file, index) => ({ name: `${index}.${EXTENSIONS[file.type]}`, file: file.path }));
  let pending: PendingDocument;
  try {
    pending = await deps.ledger.create(doc, inputs);
  } catch (err) {
    if (isStorageFull(err)) throw err;
    throw unavailable('the job could not be stored', err);
  }
  const split = deps.ledger.splitsPdfs
    ? new Set(files.flatMap((file, index) => (file.type === 'pdf' && file.pages > 1 ? [`${index}.pdf`] : [])))
    : new Set<string>();
  try {
    await deps.dispatch.enqueueDocument(
      { documentId: id, pageCount, pages: doc.pages, pdf: submission.outputs.includes('pdf') },
      pages,
      split,
    );
    if (!(await pending.accept(replay?.(id)))) {
      throw new Error(`its ingest outlived its lease (INGEST_LEASE_MS, ${deps.config.INGEST_LEASE_MS} ms)`);
    }
  } catch (err) {
    // Pages already queued and released find their document gone and end at once; held ones go.
    await pending.discard().catch(() => undefined);
    await deps.dispatch.cancel(id, selected).catch(() => undefined);
    throw unavailable('the job could not be queued', err);
  }
  return { id, pageCount, createdAt };
}

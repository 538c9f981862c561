// The contract's plain values: no zod, so that the client (and the web page bundled from it)
// imports them without a schema library.

/** Lowest DPI accepted from a client: below it Tesseract's LSTM models lose most glyphs. */
export const MIN_DPI = 70;

/**
 * What a page can produce besides its text and words (always stored, as JSON): hOCR and TSV,
 * Tesseract's own formats, a one-page PDF of the page image with an invisible text layer, and a
 * small JPEG of the page as read (upright, in the pixels its word boxes refer to, scaled down).
 */
export const PAGE_FORMATS = ['hocr', 'tsv', 'pdf', 'image'] as const;
export type PageFormat = (typeof PAGE_FORMATS)[number];

/** `outputs` of a submission: text and json are always made; the rest only when asked for. */
export const OUTPUTS = ['text', 'json', ...PAGE_FORMATS] as const;
export type Output = (typeof OUTPUTS)[number];

export const DOCUMENT_STATUSES = ['queued', 'processing', 'completed', 'partial', 'failed', 'canceled'] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];
export const FINISHED_STATUSES: ReadonlySet<DocumentStatus> = new Set(['completed', 'partial', 'failed', 'canceled']);

/**
 * Which OCR engine reads a submission's pages: Tesseract, PaddleOCR's PP-OCRv4 models (Chinese
 * and English; receipts and photos), or `auto`, which chooses per page (docs/engines.md).
 */
export const ENGINE_CHOICES = ['tesseract', 'paddle', 'auto'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];
/**
 * How a submission's pages are served within its tenant's share of the workers: `interactive`
 * pages (a person waits for them) before the tenant's `batch` pages (docs/tenants.md).
 */
export const PRIORITIES = ['interactive', 'batch'] as const;
export type Priority = (typeof PRIORITIES)[number];
/** The engines that read pages; a page result names the one that read it. */
export const ENGINES = ['tesseract', 'paddle'] as const;
export type Engine = (typeof ENGINES)[number];

/** How a page was read: from the PDF's own text layer, by OCR of its image, or both (the text inside its images OCRed). */
export const READ_METHODS = ['text', 'ocr', 'text+ocr'] as const;
export type ReadMethod = (typeof READ_METHODS)[number];

/**
 * Why a page was given up: its worker kept dying on it, it ran past PAGE_TIMEOUT_MS, there was no
 * room to store it (a full disk), Redis lost its document before it was stored, or it failed.
 */
export const PAGE_FAILURE_REASONS = ['oom', 'timeout', 'storage', 'lost', 'error'] as const;
export type PageFailureReason = (typeof PAGE_FAILURE_REASONS)[number];

/** Why a submission of a known type cannot be processed: each is a `code` clients may switch on. */
export const UNPROCESSABLE_CODES = [
  'empty',
  'encrypted',
  'unreadable',
  'too_many_pages',
  'too_many_pixels',
  'unknown_language',
  'bad_callback',
  'page_out_of_range',
  'engine_unavailable',
  'too_many_interactive_pages',
] as const;
export type UnprocessableCode = (typeof UNPROCESSABLE_CODES)[number];

/** Every `code` a problem answer carries (also the last part of its `type`): clients may switch on them. */
export const PROBLEM_CODES = [
  'invalid_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'not_finished',
  'request_timeout',
  'conflict',
  'too_large',
  'bad_type',
  'idempotency_mismatch',
  ...UNPROCESSABLE_CODES,
  'backpressure',
  'too_many_uploads',
  'tenant_limit',
  'internal',
  'unavailable',
  'busy',
  'not_ready',
  'storage_full',
] as const;
export type ProblemCode = (typeof PROBLEM_CODES)[number];

/** Where a job and its results are read, as the API's answers and the webhooks link them. */
export const jobPath = (id: string) => `/v1/jobs/${id}`;
export const jobLinks = (id: string) => ({
  self: jobPath(id),
  result: `${jobPath(id)}/result`,
  text: `${jobPath(id)}/text`,
});

import { z } from 'zod';

/** Where one page of a document comes from: a page of an uploaded PDF, or a page of an image. */
export const pageSourceSchema = z.object({
  /** File name inside the document's `input/` folder, chosen by the API (never by the client). */
  file: z.string().regex(/^\d+\.(pdf|png|jpg|tif|webp)$/),
  kind: z.enum(['pdf', 'image']),
  /** PDF: 1-based page number. Image: 0-based page (TIFF directory). */
  index: z.number().int().min(0),
  /** PDF: the page's /Rotate, as pdfinfo read it at ingest. */
  rotation: z.number().int().optional(),
  /** PDF: read from its own one-page PDF, which the document's split job stored (object storage). */
  split: z.boolean().optional(),
});
export type PageSource = z.infer<typeof pageSourceSchema>;

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

export const pageJobSchema = z.object({
  documentId: z.uuid(),
  /** 1-based position of the page in the document. */
  page: z.number().int().min(1),
  source: pageSourceSchema,
  languages: z.string().min(1),
  dpi: z.number().int().positive(),
  /** Pixels the page is predicted to have once rendered (capped at MAX_PAGE_PIXELS). */
  pixels: z.number().int().positive(),
  /** Extra formats to store for this page. */
  formats: z.array(z.enum(PAGE_FORMATS)).default([]),
  /** OCR the page even where the PDF carries a usable text layer. */
  forceOcr: z.boolean().default(false),
});
export type PageJob = z.infer<typeof pageJobSchema>;

/**
 * Splits one PDF of a document into one-page PDFs, so that each page's worker fetches its page
 * and not the whole file, then queues the pages (children of the document job, as if queued at
 * ingest). Used where workers must download what they read (object storage).
 */
export const splitJobSchema = z.object({
  documentId: z.uuid(),
  /** The PDF in the document's `input/` folder. */
  file: pageSourceSchema.shape.file,
  /** The jobs of its selected pages, as they are queued once it is split. */
  pages: z.array(pageJobSchema).min(1),
});
export type SplitJob = z.infer<typeof splitJobSchema>;

export const documentJobSchema = z.object({
  documentId: z.uuid(),
  pageCount: z.number().int().min(1),
  /** The document's pages that were selected, in canonical form (`1-3,7`); unset, all of them. */
  pages: z.string().optional(),
  /** Assemble the pages' PDFs into one searchable PDF of the document. */
  pdf: z.boolean().default(false),
});
export type DocumentJob = z.infer<typeof documentJobSchema>;

/** Smallest pixel cap a page is shrunk to, on retries after its worker died: about a 100-DPI letter page. */
export const MIN_PAGE_PIXELS = 1_000_000;

/** Largest image (pixels of one page) accepted and decoded: past it, a file is a decompression bomb. */
export const MAX_IMAGE_PIXELS = 500_000_000;

export const DOCUMENT_STATUSES = ['queued', 'processing', 'completed', 'partial', 'failed', 'canceled'] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];
export const FINISHED_STATUSES: ReadonlySet<DocumentStatus> = new Set(['completed', 'partial', 'failed', 'canceled']);

export const boundingBoxSchema = z.object({ x0: z.number(), y0: z.number(), x1: z.number(), y1: z.number() }).meta({
  id: 'BoundingBox',
  description: 'Pixels of the page as recognized: left, top, right, bottom.',
});
export type BoundingBox = z.infer<typeof boundingBoxSchema>;

export const wordResultSchema = z
  .object({ text: z.string(), confidence: z.number().min(0).max(100), bbox: boundingBoxSchema })
  .meta({ id: 'Word' });
export type WordResult = z.infer<typeof wordResultSchema>;

/** How a page was read: from the PDF's own text layer, or by OCR of its image. */
export const READ_METHODS = ['text', 'ocr'] as const;
export type ReadMethod = (typeof READ_METHODS)[number];

/**
 * Why a page was given up: its worker kept dying on it, it ran past PAGE_TIMEOUT_MS, there was no
 * room to store it (a full disk), Redis lost its document before it was stored, or it failed.
 */
export const PAGE_FAILURE_REASONS = ['oom', 'timeout', 'storage', 'lost', 'error'] as const;
export type PageFailureReason = (typeof PAGE_FAILURE_REASONS)[number];

/** What the worker stores for each page, and what `GET /v1/jobs/:id/result` returns per page. */
export const pageResultSchema = z
  .object({
    page: z.number().int().min(1),
    status: z.enum(['completed', 'failed']),
    /** Completed pages: `text` when read from the PDF's text layer (confidence 100), `ocr` otherwise. */
    method: z.enum(READ_METHODS).optional(),
    text: z.string(),
    confidence: z.number().min(0).max(100),
    words: z.array(wordResultSchema),
    error: z.string().optional(),
    reason: z.enum(PAGE_FAILURE_REASONS).optional(),
    /** Failed pages: the stage the last attempt failed in, where known (`rasterize`, `ocr`…). */
    stage: z.string().optional(),
    /** Pixels and DPI the page was recognized at, after any downscale. */
    width: z.number().int().optional(),
    height: z.number().int().optional(),
    dpi: z.number().int().optional(),
    /** Milliseconds per stage. */
    durations: z.record(z.string(), z.number()).optional(),
  })
  .meta({ id: 'PageResult', description: 'One page as read: its text, mean confidence and words with their boxes.' });
export type PageResult = z.infer<typeof pageResultSchema>;

/** Where a job and its results are read, as the API's answers and the webhooks link them. */
export const jobPath = (id: string) => `/v1/jobs/${id}`;
export const jobLinks = (id: string) => ({
  self: jobPath(id),
  result: `${jobPath(id)}/result`,
  text: `${jobPath(id)}/text`,
});

/** The document as a client polls it. */
export const documentStateSchema = z
  .object({
    id: z.uuid(),
    status: z.enum(DOCUMENT_STATUSES),
    pageCount: z.number().int().min(1),
    /** The document's pages being processed (`1-3,7`), numbered as uploaded; every page unless `pages` was given. */
    pages: z.string(),
    pagesDone: z.number().int().min(0),
    pagesFailed: z.number().int().min(0),
    languages: z.string(),
    dpi: z.number().int(),
    /** What the submission asked for (`text`, `json`, `hocr`, `tsv`, `pdf`). */
    outputs: z.array(z.enum(OUTPUTS)),
    createdAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().optional(),
    error: z.string().optional(),
  })
  .meta({ id: 'Job', description: 'A submitted document: its status and how many of its pages are done.' });
export type DocumentState = z.infer<typeof documentStateSchema>;

import { z } from 'zod';

/** Where one page of a document comes from: a page of an uploaded PDF, or a page of an image. */
export const pageSourceSchema = z.object({
  /** File name inside the document's `input/` folder, chosen by the API (never by the client). */
  file: z.string().regex(/^\d+\.(pdf|png|jpg|tif|webp)$/),
  kind: z.enum(['pdf', 'image']),
  /** PDF: 1-based page number. Image: 0-based page (TIFF directory). */
  index: z.number().int().min(0),
});
export type PageSource = z.infer<typeof pageSourceSchema>;

/**
 * What a page can produce besides its text and words (always stored, as JSON): hOCR and TSV,
 * Tesseract's own formats, and a one-page PDF of the page image with an invisible text layer.
 */
export const PAGE_FORMATS = ['hocr', 'tsv', 'pdf'] as const;
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
});
export type PageJob = z.infer<typeof pageJobSchema>;

export const documentJobSchema = z.object({
  documentId: z.uuid(),
  pageCount: z.number().int().min(1),
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

export interface BoundingBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface WordResult {
  text: string;
  confidence: number;
  bbox: BoundingBox;
}

/** Why a page was given up: its worker kept dying on it, it ran past PAGE_TIMEOUT_MS, or it failed. */
export type PageFailureReason = 'oom' | 'timeout' | 'error';

/** What the worker stores for each page, and what `GET /v1/jobs/:id/result` returns per page. */
export interface PageResult {
  page: number;
  status: 'completed' | 'failed';
  text: string;
  confidence: number;
  words: WordResult[];
  error?: string;
  reason?: PageFailureReason;
  /** Pixels and DPI the page was recognized at, after any downscale. */
  width?: number;
  height?: number;
  dpi?: number;
  /** Milliseconds per stage. */
  durations?: Record<string, number>;
}

/** Where a job and its results are read, as the API's answers and the webhooks link them. */
export const jobPath = (id: string) => `/v1/jobs/${id}`;
export const jobLinks = (id: string) => ({ self: jobPath(id), result: `${jobPath(id)}/result`, text: `${jobPath(id)}/text` });

/** The document as a client polls it. */
export interface DocumentState {
  id: string;
  status: DocumentStatus;
  pageCount: number;
  pagesDone: number;
  pagesFailed: number;
  languages: string;
  dpi: number;
  /** What the submission asked for (`text`, `json`, `hocr`, `tsv`, `pdf`). */
  outputs: Output[];
  createdAt: string;
  finishedAt?: string;
  error?: string;
}

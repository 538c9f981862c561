import { z } from 'zod';
import { ENGINE_CHOICES, PAGE_FORMATS, PRIORITIES } from '@pagefleet/contract';
import { OPEN_TENANT } from './tenants.js';

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
  /** The engine that reads the page where it is OCRed (auto: chosen by the page, docs/engines.md). */
  engine: z.enum(ENGINE_CHOICES).default('tesseract'),
  /** The tenant that submitted the document: its usage counts the page. */
  tenant: z.string().default(OPEN_TENANT),
  /** Its place within the tenant's share: interactive pages go before batch pages. */
  priority: z.enum(PRIORITIES).default('batch'),
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
  /** The document's pages that were selected, in canonical form (`1-3,7`). */
  pages: z.string(),
  /** Assemble the pages' PDFs into one searchable PDF of the document. */
  pdf: z.boolean().default(false),
});
export type DocumentJob = z.infer<typeof documentJobSchema>;

/** Smallest pixel cap a page is shrunk to, on retries after its worker died: about a 100-DPI letter page. */
export const MIN_PAGE_PIXELS = 1_000_000;

/** Largest image (pixels of one page) accepted and decoded: past it, a file is a decompression bomb. */
export const MAX_IMAGE_PIXELS = 500_000_000;

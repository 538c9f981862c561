import sharp, { type Metadata } from 'sharp';
import { MAX_IMAGE_PIXELS, pdfDocumentInfo, ToolError, UnprocessableError } from '@pagefleet/shared';
import type { FileType } from './sniff.js';

// Reading a header decodes no pixel: sharp's default limit (268 megapixels) would refuse images
// that MAX_IMAGE_PIXELS accepts, and the pixel check below says more than its error.
const HEADER_ONLY = { limitInputPixels: false } as const;

export interface InspectLimits {
  /** DPI PDF pages will be rendered at. */
  dpi: number;
  /** MAX_PAGE_PIXELS: the worker caps every page at it. */
  maxPixels: number;
  /** MAX_PAGES: sizes are read for at most this many pages. */
  maxPages: number;
  /** PDFINFO_TIMEOUT_MS. */
  timeoutMs: number;
}

export interface Inspection {
  pages: number;
  /**
   * Pixels of each page once rendered at the DPI (PDF) or decoded (image), capped as the worker
   * caps them: what a page will cost a worker, known before it is queued.
   */
  pixels: number[];
  /** PDF: each page's /Rotate. */
  rotations?: number[];
}

/**
 * Pages of one uploaded file and what each will cost, from one look at it (one pdfinfo run, or
 * the image's header), or an UnprocessableError saying why it cannot be processed.
 */
export async function inspectFile(
  file: string,
  type: FileType,
  name: string,
  limits: InspectLimits,
): Promise<Inspection> {
  const cap = (pixels: number) => Math.max(1, Math.min(limits.maxPixels, Math.round(pixels)));
  if (type === 'pdf') {
    const { pages, sizes } = await inspectPdf(name, () => pdfDocumentInfo(file, limits.maxPages, limits.timeoutMs));
    if (pages < 1) throw new UnprocessableError('empty', `${name}: the PDF has no pages`);
    const pixels = sizes.map(({ width, height }) => cap((width / 72) * (height / 72) * limits.dpi ** 2));
    return { pages, pixels, rotations: sizes.map(({ rotation }) => rotation) };
  }
  const { width, height, pages } = await imageHeader(file, type, name);
  // Pages of a multi-page TIFF are taken to share the first page's size.
  return { pages, pixels: Array.from({ length: Math.min(pages, limits.maxPages) }, () => cap(width * height)) };
}

/** Runs pdfinfo, turning its failures into UnprocessableErrors that say what is wrong with the file. */
async function inspectPdf<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof ToolError) || err.reason === 'spawn') throw err;
    if (/incorrect password/i.test(err.stderr)) {
      throw new UnprocessableError('encrypted', `${name}: the PDF is password-protected`);
    }
    if (err.reason === 'timeout') throw new UnprocessableError('unreadable', `${name}: the PDF took too long to open`);
    if (/invalid page count 0/i.test(err.stderr))
      throw new UnprocessableError('empty', `${name}: the PDF has no pages`);
    const reason = err.stderr.split('\n').find((line) => line.trim()) ?? 'unknown error';
    throw new UnprocessableError('unreadable', `${name}: the PDF cannot be read (${reason.trim()})`);
  }
}

async function imageHeader(file: string, type: FileType, name: string) {
  let meta: Metadata;
  try {
    meta = await sharp(file, HEADER_ONLY).metadata();
  } catch (err) {
    throw new UnprocessableError('unreadable', `${name}: the image cannot be read (${(err as Error).message})`);
  }
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (width * height === 0) throw new UnprocessableError('unreadable', `${name}: the image has no pixels`);
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new UnprocessableError(
      'too_many_pixels',
      `${name}: ${width}x${height} pixels is more than the ${MAX_IMAGE_PIXELS} a page may have`,
    );
  }
  // Only TIFF pages are pages of a document; frames of an animated WebP are not.
  return { width, height, pages: type === 'tiff' ? (meta.pages ?? 1) : 1 };
}

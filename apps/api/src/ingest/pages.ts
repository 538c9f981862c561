import sharp, { type Metadata } from 'sharp';
import { MAX_IMAGE_PIXELS, pdfInfo, pdfPageSizes, ToolError, UnprocessableError } from '@pagefleet/shared';
import type { FileType } from './sniff.js';

// Reading a header decodes no pixel: sharp's default limit (268 megapixels) would refuse images
// that MAX_IMAGE_PIXELS accepts, and the pixel check below says more than its error.
const HEADER_ONLY = { limitInputPixels: false } as const;

/** Pages in one uploaded file, or an UnprocessableError saying why it cannot be processed. */
export async function countPages(file: string, type: FileType, name: string, timeoutMs: number): Promise<number> {
  return type === 'pdf' ? countPdfPages(file, name, timeoutMs) : countImagePages(file, type, name);
}

/**
 * Pixels of each page once rendered at `dpi` (PDF) or decoded (image), capped at `maxPixels` as
 * the worker caps them: what a page will cost a worker, known before it is queued.
 */
export async function predictPixels(
  file: string,
  type: FileType,
  name: string,
  pages: number,
  dpi: number,
  maxPixels: number,
  timeoutMs: number,
): Promise<number[]> {
  const cap = (pixels: number) => Math.max(1, Math.min(maxPixels, Math.round(pixels)));
  if (type !== 'pdf') {
    // Pages of a multi-page TIFF are taken to share the first page's size.
    const meta = await sharp(file, HEADER_ONLY).metadata();
    return Array.from({ length: pages }, () => cap((meta.width ?? 0) * (meta.pageHeight ?? meta.height ?? 0)));
  }
  const sizes = await inspectPdf(name, () => pdfPageSizes(file, pages, timeoutMs));
  return sizes.map(({ width, height }) => cap((width / 72) * (height / 72) * dpi * dpi));
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

async function countPdfPages(file: string, name: string, timeoutMs: number): Promise<number> {
  const { pages } = await inspectPdf(name, () => pdfInfo(file, timeoutMs));
  if (pages < 1) throw new UnprocessableError('empty', `${name}: the PDF has no pages`);
  return pages;
}

async function countImagePages(file: string, type: FileType, name: string): Promise<number> {
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
  return type === 'tiff' ? (meta.pages ?? 1) : 1;
}

import sharp, { type Metadata } from 'sharp';
import { MAX_IMAGE_PIXELS, pdfInfo, ToolError, UnprocessableError } from '@pagefleet/shared';
import type { FileType } from './sniff.js';

/** Pages in one uploaded file, or an UnprocessableError saying why it cannot be processed. */
export async function countPages(file: string, type: FileType, name: string, timeoutMs: number): Promise<number> {
  return type === 'pdf' ? countPdfPages(file, name, timeoutMs) : countImagePages(file, type, name);
}

async function countPdfPages(file: string, name: string, timeoutMs: number): Promise<number> {
  let pages: number;
  try {
    ({ pages } = await pdfInfo(file, timeoutMs));
  } catch (err) {
    if (!(err instanceof ToolError) || err.reason === 'spawn') throw err;
    if (/incorrect password/i.test(err.stderr)) {
      throw new UnprocessableError('encrypted', `${name}: the PDF is password-protected`);
    }
    if (err.reason === 'timeout') throw new UnprocessableError('unreadable', `${name}: the PDF took too long to open`);
    if (/invalid page count 0/i.test(err.stderr)) throw new UnprocessableError('empty', `${name}: the PDF has no pages`);
    const reason = err.stderr.split('\n').find((line) => line.trim()) ?? 'unknown error';
    throw new UnprocessableError('unreadable', `${name}: the PDF cannot be read (${reason.trim()})`);
  }
  if (pages < 1) throw new UnprocessableError('empty', `${name}: the PDF has no pages`);
  return pages;
}

async function countImagePages(file: string, type: FileType, name: string): Promise<number> {
  let meta: Metadata;
  try {
    meta = await sharp(file).metadata();
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

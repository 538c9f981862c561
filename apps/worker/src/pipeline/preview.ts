import sharp from 'sharp';
import type { PreparedPage } from './preprocess.js';

/** Wide enough to read a page on a screen; word boxes scale by this width over the page's. */
export const PREVIEW_WIDTH = 1200;

/** The page as read, gray, at most PREVIEW_WIDTH wide, as a JPEG of a few hundred kilobytes at most. */
export async function previewJpeg(page: PreparedPage): Promise<Buffer> {
  const { width, height } = page;
  return sharp(page.pgm.subarray(page.pgm.length - width * height), { raw: { width, height, channels: 1 } })
    .resize({ width: Math.min(PREVIEW_WIDTH, width) })
    .jpeg({ quality: 70 })
    .toBuffer();
}

import { sharpOf } from './gray.js';
import type { PreparedPage } from './preprocess.js';

/** Wide enough to read a page on a screen; word boxes scale by this width over the page's. */
export const PREVIEW_WIDTH = 1200;

/** The page as read, gray, at most PREVIEW_WIDTH wide, as a JPEG of a few hundred kilobytes at most. */
export async function previewJpeg(page: PreparedPage): Promise<Buffer> {
  return (await sharpOf(page))
    .resize({ width: Math.min(PREVIEW_WIDTH, page.width) })
    .jpeg({ quality: 70 })
    .toBuffer();
}

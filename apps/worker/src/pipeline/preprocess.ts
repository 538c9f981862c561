import { MAX_IMAGE_PIXELS, MIN_DPI } from '@pagefleet/shared';
import { loadSharp, sharpOf, toGray } from './gray.js';
import type { RenderedPage } from './rasterize.js';

/** A page ready for OCR. `dpi` is undefined when an image does not say, and Tesseract estimates it. */
export interface PreparedPage {
  pgm: Buffer;
  width: number;
  height: number;
  dpi: number | undefined;
}

export type PageInput = { rendered: RenderedPage } | { image: string; index: number };

const fitsWithin = (width: number, height: number, maxPixels: number) => width * height <= maxPixels;

function scaleToFit(width: number, height: number, maxPixels: number): { width: number; height: number } {
  const scale = Math.sqrt(maxPixels / (width * height));
  return { width: Math.max(1, Math.floor(width * scale)), height: Math.max(1, Math.floor(height * scale)) };
}

/** Grayscale and at most `maxPixels`, downscaled when bigger; the DPI follows the scale. */
export async function preprocess(input: PageInput, maxPixels: number): Promise<PreparedPage> {
  if ('rendered' in input) {
    const { pgm, width, height, dpi } = input.rendered;
    // pdftoppm already rendered gray at a DPI clamped to the cap: nothing left to do.
    if (fitsWithin(width, height, maxPixels)) return { pgm, width, height, dpi };
    const target = scaleToFit(width, height, maxPixels);
    const resized = await toGray((await sharpOf(input.rendered)).resize(target.width, target.height, { fit: 'fill' }));
    return { ...resized, dpi: Math.round((dpi * target.width) / width) };
  }

  const options = { page: input.index, limitInputPixels: MAX_IMAGE_PIXELS };
  const sharp = await loadSharp();
  const meta = await sharp(input.image, options).metadata();
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  let pipeline = sharp(input.image, options).flatten({ background: '#ffffff' });
  if (!fitsWithin(width, height, maxPixels)) {
    const size = scaleToFit(width, height, maxPixels);
    pipeline = pipeline.resize(size.width, size.height, { fit: 'fill' });
  }
  const gray = await toGray(pipeline);
  const density = meta.density && meta.density >= MIN_DPI ? meta.density : undefined;
  return { ...gray, dpi: density === undefined ? undefined : Math.round((density * gray.width) / Math.max(1, width)) };
}

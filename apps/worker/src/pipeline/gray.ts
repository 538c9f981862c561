import type { Sharp, SharpOptions } from 'sharp';
import { encodePgm, type GrayImage } from './pgm.js';

let loaded: Promise<(input?: string | Buffer, options?: SharpOptions) => Sharp> | undefined;

/**
 * sharp (libvips), loaded on first use: 26 MB resident that a worker reading only PDF pages at
 * their planned size never needs. Parallelism comes from the slots: libvips' own thread pool and
 * operation cache would only multiply memory per slot (the defaults suit a desktop application).
 */
export function loadSharp() {
  loaded ??= import('sharp').then(({ default: sharp }) => {
    sharp.concurrency(1);
    sharp.cache(false);
    return sharp;
  });
  return loaded;
}

/** A gray image's pixels: its PGM without the header. */
export const pixelsOf = (image: GrayImage) => image.pgm.subarray(image.pgm.length - image.width * image.height);

/** A sharp pipeline over a gray image. */
export async function sharpOf(image: GrayImage): Promise<Sharp> {
  const sharp = await loadSharp();
  return sharp(pixelsOf(image), { raw: { width: image.width, height: image.height, channels: 1 } });
}

/**
 * A sharp pipeline's output as a one-band PGM. libvips hands even a one-band raw input on as sRGB
 * unless told otherwise, which would give the PGM three bytes a pixel.
 */
export async function toGray(pipeline: Sharp): Promise<GrayImage> {
  const { data, info } = await pipeline.toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  return encodePgm(data, info.width, info.height);
}

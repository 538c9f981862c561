import sharp, { type Sharp } from 'sharp';
import { encodePgm, type GrayImage } from './pgm.js';

/** A gray image's pixels: its PGM without the header. */
export const pixelsOf = (image: GrayImage) => image.pgm.subarray(image.pgm.length - image.width * image.height);

/** A sharp pipeline over a gray image. */
export const sharpOf = (image: GrayImage): Sharp =>
  sharp(pixelsOf(image), { raw: { width: image.width, height: image.height, channels: 1 } });

/**
 * A sharp pipeline's output as a one-band PGM. libvips hands even a one-band raw input on as sRGB
 * unless told otherwise, which would give the PGM three bytes a pixel.
 */
export async function toGray(pipeline: Sharp): Promise<GrayImage> {
  const { data, info } = await pipeline.toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  return encodePgm(data, info.width, info.height);
}

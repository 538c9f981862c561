/** A gray image's pixels, one byte each, row after row. */
export interface GrayPixels {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A gray region as the models read an image: bilinear samples of `region` of `image` scaled to
 * `width`×`height`, through `value` (the models' normalizations differ), written once into the
 * first of three planes of `stride`×`height` at `at`, and copied into the other two.
 */
export function sampleGray(
  image: GrayPixels,
  region: Region,
  width: number,
  height: number,
  into: Float32Array,
  at: number,
  stride: number,
  value: (gray: number) => number,
): void {
  const sx = region.width / width;
  const sy = region.height / height;
  const maxX = image.width - 1;
  const maxY = image.height - 1;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(maxY, Math.max(0, region.y + (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(maxY, y0 + 1);
    const wy = fy - y0;
    const row0 = y0 * image.width;
    const row1 = y1 * image.width;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(maxX, Math.max(0, region.x + (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(maxX, x0 + 1);
      const wx = fx - x0;
      const top = (image.data[row0 + x0] as number) * (1 - wx) + (image.data[row0 + x1] as number) * wx;
      const bottom = (image.data[row1 + x0] as number) * (1 - wx) + (image.data[row1 + x1] as number) * wx;
      into[at + y * stride + x] = value(top * (1 - wy) + bottom * wy);
    }
  }
  const plane = stride * height;
  into.copyWithin(at + plane, at, at + plane);
  into.copyWithin(at + 2 * plane, at, at + plane);
}

/** The region turned half a turn: lines a classifier finds upside down are read from this copy. */
export function rotated180(image: GrayPixels, region: Region): GrayPixels {
  const x0 = Math.max(0, Math.floor(region.x));
  const y0 = Math.max(0, Math.floor(region.y));
  const width = Math.max(1, Math.min(image.width - x0, Math.ceil(region.width)));
  const height = Math.max(1, Math.min(image.height - y0, Math.ceil(region.height)));
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data[(height - 1 - y) * width + (width - 1 - x)] = image.data[(y0 + y) * image.width + x0 + x] as number;
    }
  }
  return { data, width, height };
}

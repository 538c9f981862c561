import type { BoundingBox, WordResult } from '@pagefleet/shared';
import type { PlacedImage, PlacedRect } from './image-placement.js';
import type { DecodedImage } from './embedded-image.js';
import { pixelsOf } from './gray.js';
import { encodePgm, type GrayImage } from './pgm.js';
import type { PixelRegion } from './rasterize.js';
import { layoutText, type PageLayout } from './reading-order.js';
import { MIN_TEXT_IMAGE_SIDE } from './text-quality.js';

/**
 * Past this many images, a page's regions are one: the rectangle holding them all (merging is
 * quadratic, and a hostile page may draw hundreds of thousands).
 */
const MAX_REGIONS = 256;

/** A region of a page to OCR: the images it holds, in the order they are drawn. */
export interface ImageGroup extends PlacedRect {
  /** Undefined past MAX_REGIONS images, when the region is the rectangle holding them all. */
  images?: PlacedImage[];
}

/**
 * The regions of a page to OCR beside its layer, in points: its images that could hold a line of
 * text, those that overlap or touch merged into one, so no part of the page is read twice.
 */
export function imageRegions(rects: readonly PlacedImage[]): ImageGroup[] {
  const large = rects.filter(
    (rect) => rect.x1 - rect.x0 >= MIN_TEXT_IMAGE_SIDE && rect.y1 - rect.y0 >= MIN_TEXT_IMAGE_SIDE,
  );
  if (large.length > MAX_REGIONS) {
    // Folded one by one: spreading hundreds of thousands of arguments would overflow the stack.
    return [
      large.reduce<PlacedRect>(
        (all, rect) => ({
          x0: Math.min(all.x0, rect.x0),
          y0: Math.min(all.y0, rect.y0),
          x1: Math.max(all.x1, rect.x1),
          y1: Math.max(all.y1, rect.y1),
        }),
        { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity },
      ),
    ];
  }
  let regions = large.map((rect, order) => ({ x0: rect.x0, y0: rect.y0, x1: rect.x1, y1: rect.y1, members: [order] }));
  for (let merged = true; merged;) {
    merged = false;
    const out: typeof regions = [];
    for (const rect of regions) {
      const into = out.find(
        (other) => rect.x0 <= other.x1 && other.x0 <= rect.x1 && rect.y0 <= other.y1 && other.y0 <= rect.y1,
      );
      if (!into) {
        out.push(rect);
        continue;
      }
      merged = true;
      into.x0 = Math.min(into.x0, rect.x0);
      into.y0 = Math.min(into.y0, rect.y0);
      into.x1 = Math.max(into.x1, rect.x1);
      into.y1 = Math.max(into.y1, rect.y1);
      into.members.push(...rect.members);
    }
    regions = out;
  }
  return regions.map(({ members, ...rect }) => ({
    ...rect,
    images: members.sort((a, b) => a - b).map((order) => large[order] as PlacedImage),
  }));
}

/** The smallest region holding all of `regions`. */
export function unionOf(regions: readonly PixelRegion[]): PixelRegion {
  const x = Math.min(...regions.map((region) => region.x));
  const y = Math.min(...regions.map((region) => region.y));
  const x1 = Math.max(...regions.map((region) => region.x + region.width));
  const y1 = Math.max(...regions.map((region) => region.y + region.height));
  return { x, y, width: x1 - x, height: y1 - y };
}

/**
 * `image` (the render of `union`) white everywhere but inside `regions`: several images of a page
 * are OCRed in one pass, and the layer's text between them is not read again.
 */
export function keepRegions(image: GrayImage, union: PixelRegion, regions: readonly PixelRegion[]): GrayImage {
  const { width, height } = image;
  const offset = image.pgm.length - width * height;
  const pixels = Buffer.alloc(width * height, 255);
  for (const region of regions) {
    const x0 = Math.max(0, region.x - union.x);
    const x1 = Math.min(width, region.x - union.x + region.width);
    for (let y = Math.max(0, region.y - union.y); y < Math.min(height, region.y - union.y + region.height); y++) {
      image.pgm.copy(pixels, y * width + x0, offset + y * width + x0, offset + y * width + x1);
    }
  }
  return encodePgm(pixels, width, height);
}

/** A white image the size of `union`, on which a hybrid page's decoded images are laid (`layImage`). */
export const whiteImage = (union: PixelRegion): GrayImage =>
  encodePgm(Buffer.alloc(union.width * union.height, 255), union.width, union.height);

/**
 * `image` laid on `canvas` (the rectangle `union` of the page) at its place `at`, over what is
 * under it where it has alpha. Laid in the order they are drawn, a hybrid page's decoded images
 * show as a render of their union shows them, and are read in one pass.
 */
export function layImage(canvas: GrayImage, union: PixelRegion, at: PixelRegion, image: DecodedImage): void {
  const pixels = pixelsOf(canvas);
  const { gray, alpha } = image;
  const source = pixelsOf(gray);
  const x0 = at.x - union.x;
  const from = Math.max(0, -x0);
  const to = Math.min(gray.width, union.width - x0);
  for (let y = 0; y < gray.height; y++) {
    const row = at.y - union.y + y;
    if (row < 0 || row >= union.height || to <= from) continue;
    const start = y * gray.width;
    const out = row * union.width + x0;
    if (!alpha) {
      // Opaque: the row as it is (most images; a figure's 600 rows in well under a millisecond).
      source.copy(pixels, out + from, start + from, start + to);
      continue;
    }
    for (let x = from; x < to; x++) {
      const a = alpha[start + x] as number;
      const under = pixels[out + x] as number;
      pixels[out + x] = Math.round(((source[start + x] as number) * a + under * (255 - a)) / 255);
    }
  }
}

/** What OCR read in one region of the page: its blocks, boxes in the page's pixels. */
export interface RegionReading {
  region: BoundingBox;
  blocks: PageLayout;
}

/** A word of a hybrid page: read from the layer, or OCRed in one of its images. */
export type SourcedWord = WordResult & { origin: 'layer' | 'ocr' };

const boxOf = (region: PixelRegion): BoundingBox => ({
  x0: region.x,
  y0: region.y,
  x1: region.x + region.width,
  y1: region.y + region.height,
});

/**
 * The blocks OCR read over several regions at once, each given to the region holding most of it
 * (its words' boxes), so each region's text is placed in reading order on its own.
 */
export function readingsByRegion(blocks: PageLayout, regions: readonly PixelRegion[]): RegionReading[] {
  const readings = regions.map((region) => ({ region: boxOf(region), blocks: [] as PageLayout }));
  for (const block of blocks) {
    const shares = readings.map(({ region }) =>
      block.flat().reduce((sum, word) => sum + intersection(word.bbox, region), 0),
    );
    readings[shares.indexOf(Math.max(...shares))]?.blocks.push(block);
  }
  return readings.filter((reading) => reading.blocks.length > 0);
}

const area = (box: BoundingBox) => Math.max(0, box.x1 - box.x0) * Math.max(0, box.y1 - box.y0);
const intersection = (a: BoundingBox, b: BoundingBox) =>
  area({ x0: Math.max(a.x0, b.x0), y0: Math.max(a.y0, b.y0), x1: Math.min(a.x1, b.x1), y1: Math.min(a.y1, b.y1) });

/**
 * An OCRed word is the layer's own when half of the smaller of the two boxes is shared: the
 * region's render shows the layer's text drawn over or beside its image, which the layer already has.
 */
const covered = (word: WordResult, layer: readonly WordResult[]) =>
  layer.some((other) => intersection(word.bbox, other.bbox) >= 0.5 * Math.min(area(word.bbox), area(other.bbox)));

/**
 * Where a region's text belongs among the layer's blocks (poppler's reading order): before the
 * first block of its column that starts below the region's top, or last.
 */
function placeOf(region: BoundingBox, blocks: PageLayout): number {
  const index = blocks.findIndex((block) => {
    const words = block.flat();
    if (words.length === 0) return false;
    const [x0, y0, x1] = [
      Math.min(...words.map((w) => w.bbox.x0)),
      Math.min(...words.map((w) => w.bbox.y0)),
      Math.max(...words.map((w) => w.bbox.x1)),
    ];
    return y0 >= region.y0 && x0 < region.x1 && region.x0 < x1;
  });
  return index < 0 ? blocks.length : index;
}

/**
 * The layer's text with each region's text inserted as its own paragraph before the line where
 * the layer block it precedes starts: the layer's text stays exactly as pdftotext wrote it. A block
 * whose words cannot be found in the text (pdftotext joined or split them) takes its region's text
 * to the next block found, or to the end.
 */
function spliceText(text: string, blocks: PageLayout, inserts: Map<number, string[]>): string {
  const starts: Array<number | undefined> = [];
  let cursor = 0;
  for (const block of blocks) {
    const words = block.flat();
    const first = words[0] ? text.indexOf(words[0].text, cursor) : -1;
    starts.push(first < 0 ? undefined : text.lastIndexOf('\n', first - 1) + 1);
    if (first < 0) continue;
    cursor = first;
    for (const word of words) {
      const at = text.indexOf(word.text, cursor);
      if (at >= 0) cursor = at + word.text.length;
    }
  }
  let out = '';
  let from = 0;
  for (const [index, texts] of [...inserts.entries()].sort(([a], [b]) => a - b)) {
    const next = starts.slice(index).find((start) => start !== undefined);
    const at = Math.max(from, next ?? text.length);
    out += text.slice(from, at);
    from = at;
    if (at < text.length) {
      out += `${texts.join('\n\n')}\n\n`;
      continue;
    }
    const separator = out.length === 0 || out.endsWith('\n\n') ? '' : out.endsWith('\n') ? '\n' : '\n\n';
    out += `${separator}${texts.join('\n\n')}\n`;
  }
  return out + text.slice(from);
}

export interface HybridPage {
  text: string;
  blocks: PageLayout;
  words: SourcedWord[];
  /** The OCRed words kept: none when the images hold no text the layer lacks. */
  ocrWords: WordResult[];
}

/**
 * A hybrid page: its layer's words and text as they are, and the words OCR found in its images
 * that the layer does not have, each region's blocks placed in the layer's reading order.
 */
export function mergeReadings(
  layer: { text: string; blocks: PageLayout },
  readings: readonly RegionReading[],
): HybridPage {
  const layerWords = layer.blocks.flat(2);
  const inserts = new Map<number, string[]>();
  const before = new Map<number, PageLayout>();
  const ocrWords: WordResult[] = [];
  for (const reading of readings) {
    const blocks = reading.blocks
      .map((block) => block.map((line) => line.filter((word) => word.text.trim() && !covered(word, layerWords))))
      .map((block) => block.filter((line) => line.length > 0))
      .filter((block) => block.length > 0);
    if (blocks.length === 0) continue;
    ocrWords.push(...blocks.flat(2));
    const place = placeOf(reading.region, layer.blocks);
    inserts.set(place, [...(inserts.get(place) ?? []), layoutText(blocks).replace(/\s+$/, '')]);
    before.set(place, [...(before.get(place) ?? []), ...blocks]);
  }
  const sourced = (blocks: PageLayout, origin: SourcedWord['origin']) =>
    blocks.map((block) => block.map((line) => line.map((word): SourcedWord => ({ ...word, origin }))));
  const blocks = layer.blocks.flatMap((block, index) => [
    ...sourced(before.get(index) ?? [], 'ocr'),
    ...sourced([block], 'layer'),
  ]);
  blocks.push(...sourced(before.get(layer.blocks.length) ?? [], 'ocr'));
  return {
    text: ocrWords.length === 0 ? layer.text : spliceText(layer.text, layer.blocks, inserts),
    blocks,
    words: blocks.flat(2),
    ocrWords,
  };
}

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runTool, type PageFormat, type WordResult } from '@pagefleet/shared';
import { imageRegions, type ImageGroup } from './hybrid.js';
import type { ImageSource, PlacedImage, PlacedRect } from './image-placement.js';
import { clampDpi, type PixelRegion } from './rasterize.js';
import { judgeTextLayer, layerStats, MIN_TEXT_IMAGE_SIDE, type LayerVerdict, type PageImages } from './text-quality.js';
import { displayedLayer, imageCoverage, type LayerWord, type PageRead, type TextLayer } from './text-layer.js';
import { CHILD_TIMEOUT_MS } from './deadline.js';
import { layoutHocr, layoutTsv } from './layout-formats.js';
import type { PageLayout } from './reading-order.js';

/** Confidence of a word read from the PDF: it is what the file says, not a guess. */
export const LAYER_CONFIDENCE = 100;

/** A page read from its text layer, in the pixels it would have been rendered at. */
export interface ExtractedPage {
  text: string;
  words: WordResult[];
  /** Blocks of lines of words, as laid out: what hOCR and TSV are made of. */
  blocks: PageLayout;
  width: number;
  height: number;
  dpi: number;
}

export type Extraction =
  | { verdict: LayerVerdict & { use: false } }
  | {
      verdict: LayerVerdict & { use: true };
      page: ExtractedPage;
      /** The regions of a hybrid page to OCR, in its pixels; none on other pages. */
      regions: ImageRegion[];
    };

/**
 * A region of a hybrid page to OCR, in its pixels, with its images in the order they are drawn
 * where the worker decodes every one of them (else it is rendered).
 */
export type ImageRegion = PixelRegion & { images?: Array<{ at: PixelRegion; source: ImageSource }> };

/** The layer in the page's pixels at `dpi`: what pdftoppm would render, boxes clamped to the page. */
function toPixels(layer: TextLayer, dpi: number): ExtractedPage {
  const scale = dpi / 72;
  // pdftoppm rounds the page's size up to whole pixels; the epsilon keeps 792 pt at 150 DPI at
  // 1650 px, where floating point makes it 1650.0000000000002.
  const pixels = (points: number) => Math.ceil((points * dpi) / 72 - 1e-6);
  const width = pixels(layer.width);
  const height = pixels(layer.height);
  const clamp = (value: number, max: number) => Math.min(max, Math.max(0, Math.round(value * scale)));
  const word = (w: LayerWord): WordResult => ({
    text: w.text,
    confidence: LAYER_CONFIDENCE,
    bbox: { x0: clamp(w.x0, width), y0: clamp(w.y0, height), x1: clamp(w.x1, width), y1: clamp(w.y1, height) },
  });
  const blocks = layer.blocks.map((block) => block.map((line) => line.map(word)));
  return { text: layer.text, words: blocks.flat(2), blocks, width, height, dpi };
}

/** A region in points as pixels of the page at `dpi`, widened to whole pixels inside the page. */
function regionPixels(rect: PlacedRect, page: ExtractedPage): PixelRegion {
  const scale = page.dpi / 72;
  const x = Math.max(0, Math.floor(rect.x0 * scale));
  const y = Math.max(0, Math.floor(rect.y0 * scale));
  return {
    x,
    y,
    width: Math.min(page.width, Math.ceil(rect.x1 * scale)) - x,
    height: Math.min(page.height, Math.ceil(rect.y1 * scale)) - y,
  };
}

/**
 * The regions of a hybrid page to OCR: its images that could hold text, where its content draws
 * them (`placed`: image-placement.ts). Where that cannot be read, or finds none of the images
 * pdfimages listed (drawn by a pattern, an annotation, a font), the whole page: its OCR then
 * finds what the images show, and never costs a word of the layer.
 */
function hybridRegions(placed: PlacedImage[] | undefined, layer: TextLayer): ImageGroup[] {
  const regions = placed ? imageRegions(placed) : [];
  return regions.length > 0 ? regions : [{ x0: 0, y0: 0, x1: layer.width, y1: layer.height }];
}

/**
 * Decides whether a PDF page's text layer, as read by `readPages`, is the page's text (see
 * text-quality.ts); for a hybrid page, also the regions of its images to OCR.
 */
export async function extractPage(
  read: PageRead,
  /** The page's /Rotate: poppler gives word boxes as the page is displayed. */
  rotation: number,
  size: { dpi: number; maxPixels: number },
  /** Where the page draws its images: asked only of a hybrid page. */
  placeImages: () => Promise<PlacedImage[] | undefined>,
): Promise<Extraction> {
  const layer: TextLayer = { ...displayedLayer(read.raw, rotation), text: read.text };
  const stats = layerStats(layer.blocks.flat(2).map((word) => word.text));
  const images: PageImages = {
    coverage: imageCoverage(read.images, layer.width, layer.height),
    textual: read.images.some((image) => Math.min(image.width, image.height) >= MIN_TEXT_IMAGE_SIDE),
  };
  const verdict = judgeTextLayer(stats, images);
  if (!verdict.use) return { verdict };
  const dpi = clampDpi(layer.width, layer.height, size.dpi, size.maxPixels);
  const pixels = toPixels(layer, dpi);
  if (verdict.reason !== 'hybrid') return { verdict, page: pixels, regions: [] };
  const regions = hybridRegions(await placeImages(), layer);
  return {
    verdict,
    page: pixels,
    regions: regions
      .map((group): ImageRegion => {
        const region = regionPixels(group, pixels);
        const images = group.images ?? [];
        const decodable = group.images !== undefined && images.every((image) => image.source !== undefined);
        if (!decodable) return region;
        return {
          ...region,
          images: images.map((image) => ({ at: regionPixels(image, pixels), source: image.source as ImageSource })),
        };
      })
      .filter((region) => region.width > 0 && region.height > 0),
  };
}

/**
 * The page itself as a one-page PDF, copied from the input by qpdf with the resources it uses and
 * nothing else: no rendering, no second text layer. (poppler's pdfseparate copied 1.75 MB of a
 * 1.8 MB document's shared objects into one page of GeoTopo; qpdf copies 33 KB.)
 */
export async function copyPage(pdf: string, page: number, signal: AbortSignal): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-copy-'));
  try {
    const out = path.join(dir, 'page.pdf');
    await runTool('qpdf', ['--empty', '--pages', pdf, String(page), '--', out], {
      timeoutMs: CHILD_TIMEOUT_MS,
      maxBytes: 64 * 1024,
      signal,
    });
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The formats a text page can give without rendering; `image` is rendered apart, when asked for. */
export async function layerFormats(
  page: ExtractedPage,
  formats: readonly PageFormat[],
  copy: () => Promise<Buffer>,
): Promise<Partial<Record<PageFormat, Buffer>>> {
  const files: Partial<Record<PageFormat, Buffer>> = {};
  if (formats.includes('hocr')) files.hocr = Buffer.from(layoutHocr(page, 'PDF text layer'), 'utf8');
  if (formats.includes('tsv')) files.tsv = Buffer.from(layoutTsv(page), 'utf8');
  if (formats.includes('pdf')) files.pdf = await copy();
  return files;
}

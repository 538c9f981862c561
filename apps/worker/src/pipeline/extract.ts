import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runTool, type PageFormat, type WordResult } from '@pagefleet/shared';
import { imageRegions } from './hybrid.js';
import { placeImages, type PlacedRect } from './image-placement.js';
import { clampDpi, type PixelRegion } from './rasterize.js';
import {
  HYBRID_COVERAGE,
  judgeTextLayer,
  layerStats,
  NO_IMAGES,
  SCAN_COVERAGE,
  type LayerVerdict,
  type PageImages,
} from './text-quality.js';
import { readImageCoverage, readTextLayer, type LayerWord, type TextLayer } from './text-layer.js';
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
      regions: PixelRegion[];
    };

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

/**
 * The page's images: where they are drawn, from its content (image-placement.ts), or where that
 * cannot be read, how much of the page they cover (`pdfimages -list`), the whole page then being
 * the region of a hybrid page.
 */
async function pageImages(
  pdf: string,
  page: number,
  layer: TextLayer,
  signal: AbortSignal,
): Promise<{ images: PageImages; regions: PlacedRect[] }> {
  const placed = await placeImages(pdf, page);
  if (placed) {
    const regions = imageRegions(placed.rects);
    return { images: { coverage: placed.coverage, textual: regions.length > 0 }, regions };
  }
  const coverage = await readImageCoverage(pdf, page, layer, signal);
  const hybrid = coverage >= HYBRID_COVERAGE && coverage < SCAN_COVERAGE;
  const whole = { x0: 0, y0: 0, x1: layer.width, y1: layer.height };
  return { images: { coverage, textual: hybrid }, regions: hybrid ? [whole] : [] };
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
 * Reads a PDF page's text layer and decides whether it is the page's text (see text-quality.ts).
 * The images are placed only when the layer holds decodable text: most pages are decided by
 * one pdftotext child.
 */
export async function extractPage(
  pdf: string,
  page: number,
  /** The page's /Rotate: poppler gives word boxes as the page is displayed. */
  rotation: number,
  size: { dpi: number; maxPixels: number },
  signal: AbortSignal,
): Promise<Extraction> {
  const layer = await readTextLayer(pdf, page, rotation, signal);
  const stats = layerStats(layer.blocks.flat(2).map((word) => word.text));
  const first = judgeTextLayer(stats, NO_IMAGES);
  if (!first.use) return { verdict: first };
  const { images, regions } = await pageImages(pdf, page, layer, signal);
  const verdict = judgeTextLayer(stats, images);
  if (!verdict.use) return { verdict };
  const dpi = clampDpi(layer.width, layer.height, size.dpi, size.maxPixels);
  const pixels = toPixels(layer, dpi);
  const hybrid = verdict.reason === 'hybrid';
  return {
    verdict,
    page: pixels,
    regions: hybrid
      ? regions.map((rect) => regionPixels(rect, pixels)).filter((region) => region.width > 0 && region.height > 0)
      : [],
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

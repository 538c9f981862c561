import { fromPath } from 'pdf2pic';
import { pdfInfo, runTool } from '@pagefleet/shared';
import { parsePgm, type GrayImage } from './pgm.js';
import { CHILD_TIMEOUT_MS } from './deadline.js';

export interface RenderedPage extends GrayImage {
  /** The DPI actually used: lower than asked when the page would exceed the pixel cap. */
  dpi: number;
}

/** What one attempt renders at: the DPI asked for, lowered until the page fits within `maxPixels`. */
export interface RenderSize {
  dpi: number;
  /** The attempt's pixel cap: MAX_PAGE_PIXELS, shrunk on each retry after the page's worker died. */
  maxPixels: number;
}

/**
 * Renders one page of a PDF to 8-bit gray, in a child process so the event loop stays free.
 * The child is killed when `signal` aborts (the page's deadline).
 */
export interface Rasterizer {
  readonly name: string;
  render(pdf: string, page: number, size: RenderSize, signal: AbortSignal): Promise<RenderedPage>;
}

/** The highest DPI ≤ `dpi` at which a page of `width`×`height` points stays within `maxPixels`. */
export function clampDpi(width: number, height: number, dpi: number, maxPixels: number): number {
  const pixels = (width / 72) * (height / 72) * dpi * dpi;
  if (pixels <= maxPixels || width <= 0 || height <= 0) return dpi;
  return Math.max(1, Math.floor(Math.sqrt((maxPixels * 72 * 72) / (width * height))));
}

/** The page's size from pdfinfo, and the DPI it can be rendered at within the pixel cap. */
async function plan(pdf: string, page: number, size: RenderSize, signal: AbortSignal) {
  const info = await pdfInfo(pdf, CHILD_TIMEOUT_MS, page, signal);
  return { info, dpi: clampDpi(info.width, info.height, size.dpi, size.maxPixels) };
}

/** Rounding of page edges can add a row and a column of pixels beyond the computed size. */
const outputLimit = (maxPixels: number) => Math.ceil(maxPixels * 1.01) + 4096;

/** poppler's pdftoppm writing binary PGM to stdout: no temp file, no PNG encode and decode. */
export function popplerRasterizer(): Rasterizer {
  return {
    name: 'poppler',
    async render(pdf, page, size, signal) {
      const { dpi: used } = await plan(pdf, page, size, signal);
      const n = String(page);
      const pgm = await runTool('pdftoppm', ['-f', n, '-l', n, '-r', String(used), '-gray', '--', pdf], {
        timeoutMs: CHILD_TIMEOUT_MS,
        maxBytes: outputLimit(size.maxPixels),
        signal,
      });
      return { ...parsePgm(pgm), dpi: used };
    },
  };
}

/**
 * pdf2pic (GraphicsMagick + Ghostscript), the alternative named on the project card. It resizes
 * to the size it is given, so the page size comes from pdfinfo. It offers no way to kill its
 * GraphicsMagick child: past the deadline the attempt fails, and the child runs on until it ends.
 */
export function pdf2picRasterizer(): Rasterizer {
  return {
    name: 'pdf2pic',
    async render(pdf, page, size, signal) {
      const { info, dpi: used } = await plan(pdf, page, size, signal);
      const sideways = info.rotation % 180 === 90;
      const width = Math.round(((sideways ? info.height : info.width) / 72) * used);
      const height = Math.round(((sideways ? info.width : info.height) / 72) * used);
      const convert = fromPath(pdf, { density: used, format: 'pgm', width, height });
      const { buffer } = await convert(page, { responseType: 'buffer' });
      if (!buffer?.length) throw new Error(`pdf2pic rendered nothing for page ${page}`);
      return { ...parsePgm(buffer), dpi: used };
    },
  };
}

/** A rectangle of a page in pixels at some DPI, from its top left as displayed. */
export interface PixelRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A region of one page rendered at `dpi` by pdftoppm, whichever rasterizer reads whole pages:
 * only poppler renders part of a page, and the page's layer was read by poppler already.
 */
export async function renderRegion(
  pdf: string,
  page: number,
  dpi: number,
  region: PixelRegion,
  signal: AbortSignal,
): Promise<RenderedPage> {
  const n = String(page);
  const crop = [region.x, region.y, region.width, region.height].map((value) => String(Math.round(value)));
  const [x, y, width, height] = crop as [string, string, string, string];
  const pgm = await runTool(
    'pdftoppm',
    ['-f', n, '-l', n, '-r', String(dpi), '-x', x, '-y', y, '-W', width, '-H', height, '-gray', '--', pdf],
    { timeoutMs: CHILD_TIMEOUT_MS, maxBytes: outputLimit(region.width * region.height), signal },
  );
  return { ...parsePgm(pgm), dpi };
}

export function createRasterizer(kind: 'poppler' | 'pdf2pic'): Rasterizer {
  return kind === 'poppler' ? popplerRasterizer() : pdf2picRasterizer();
}

import { runTool } from '@pagefleet/shared';
import { CHILD_TIMEOUT_MS } from './deadline.js';

/** A word of a PDF's text layer, its box in points from the top left of the page as displayed. */
export interface LayerWord {
  text: string;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A page's text layer as poppler reads it: blocks of lines of words, in reading order. */
export interface TextLayer {
  /** Size in points of the page as displayed (its /Rotate applied). */
  width: number;
  height: number;
  blocks: LayerWord[][][];
  /** The page's text exactly as pdftotext writes it: reading order, hyphenated words joined. */
  text: string;
}

/** A page's text of a few hundred kilobytes is a dense page; past this a child's output is refused (the page is OCRed). */
export const MAX_LAYER_BYTES = 32 << 20;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decode = (text: string) =>
  text.replace(
    /&(amp|lt|gt|quot|apos|#(\d+)|#x([0-9a-f]+));/gi,
    (entity: string, name: string, dec?: string, hex?: string) =>
      dec
        ? String.fromCodePoint(Number(dec))
        : hex
          ? String.fromCodePoint(parseInt(hex, 16))
          : (ENTITIES[name] ?? entity),
  );

const TAG = /<(\/?)(page|block|line|word)\b([^>]*)>([^<]*)/g;
const attribute = (attributes: string, name: string) =>
  Number(new RegExp(`${name}="([^"]*)"`).exec(attributes)?.[1] ?? 0);

/** One page of `pdftotext -bbox-layout`: its size in points as poppler gives it (before /Rotate) and its words. */
export type RawLayer = Pick<TextLayer, 'width' | 'height' | 'blocks'>;

/** Parses `pdftotext -bbox-layout` output: each `<page>` in order. */
export function parseBboxPages(xhtml: string): RawLayer[] {
  const pages: RawLayer[] = [];
  let page: RawLayer | undefined;
  let block: LayerWord[][] | undefined;
  let line: LayerWord[] | undefined;
  for (const [, closing, tag, attributes = '', text = ''] of xhtml.matchAll(TAG)) {
    if (closing) continue;
    if (tag === 'page') {
      page = { width: attribute(attributes, 'width'), height: attribute(attributes, 'height'), blocks: [] };
      pages.push(page);
    } else if (tag === 'block') {
      block = [];
      page?.blocks.push(block);
    } else if (tag === 'line') {
      line = [];
      block?.push(line);
    } else if (tag === 'word') {
      line?.push({
        text: decode(text),
        x0: attribute(attributes, 'xMin'),
        y0: attribute(attributes, 'yMin'),
        x1: attribute(attributes, 'xMax'),
        y1: attribute(attributes, 'yMax'),
      });
    }
  }
  return pages;
}

/**
 * A page's layer as displayed: poppler gives word boxes in the page's displayed space (a page
 * with /Rotate 90 is read as turned), and `<page>` its unrotated size.
 */
export function displayedLayer(raw: RawLayer, rotation: number): RawLayer {
  const sideways = rotation % 180 !== 0;
  return { ...raw, width: sideways ? raw.height : raw.width, height: sideways ? raw.width : raw.height };
}

/** An image a page draws, by its size as drawn, in points. */
export interface DrawnImage {
  width: number;
  height: number;
}

/** What one pass over a PDF gives of each of its pages: its layer, its text and its images. */
export interface PageRead {
  raw: RawLayer;
  /** The page's text exactly as pdftotext writes it: reading order, hyphenated words joined. */
  text: string;
  images: DrawnImage[];
}

/**
 * The images of each page from `pdfimages -list`: each image's pixels over the resolution it is
 * drawn at is the size it is drawn at.
 */
export function imagesByPage(list: string): Map<number, DrawnImage[]> {
  const pages = new Map<number, DrawnImage[]>();
  for (const row of list.split('\n').slice(2)) {
    const cells = row.trim().split(/\s+/);
    // page num type width height color comp bpc enc interp object ID x-ppi y-ppi size ratio
    if (cells.length < 14 || (cells[2] !== 'image' && cells[2] !== 'stencil')) continue;
    const [page, pixelsWide, pixelsHigh, xPpi, yPpi] = [cells[0], cells[3], cells[4], cells[12], cells[13]].map(
      Number,
    ) as [number, number, number, number, number];
    if (!(xPpi > 0 && yPpi > 0)) continue;
    const images = pages.get(page) ?? [];
    images.push({ width: (pixelsWide / xPpi) * 72, height: (pixelsHigh / yPpi) * 72 });
    pages.set(page, images);
  }
  return pages;
}

/** Share of a page of `width`×`height` points its images are drawn over; overlaps count twice; at most 1. */
export function imageCoverage(images: readonly DrawnImage[], width: number, height: number): number {
  const drawn = images.reduce((sum, image) => sum + image.width * image.height, 0);
  return width * height > 0 ? Math.min(1, drawn / (width * height)) : 0;
}

/**
 * Pages `first` to `last` of `pdf` in one pass: their words and boxes (`pdftotext -bbox-layout`),
 * their text as pdftotext writes it, and their images (`pdfimages -list`), three children at
 * once whatever the number of pages, each parsing the file once. The text is pdftotext's own
 * rather than rebuilt from the boxes: its spacing (a subscript joined to its base), hyphenation
 * and right-to-left handling are poppler's, and users compare against exactly that.
 */
export async function readPages(
  pdf: string,
  first: number,
  last: number,
  signal: AbortSignal,
  /** Bytes each child may write: past them it is killed and the call rejects. */
  maxBytes = MAX_LAYER_BYTES,
): Promise<Map<number, PageRead>> {
  const options = { timeoutMs: CHILD_TIMEOUT_MS, maxBytes, signal };
  const range = ['-f', String(first), '-l', String(last)];
  const [boxes, text, list] = await Promise.all([
    runTool('pdftotext', [...range, '-enc', 'UTF-8', '-bbox-layout', '--', pdf, '-'], options),
    runTool('pdftotext', [...range, '-enc', 'UTF-8', '--', pdf, '-'], options),
    runTool('pdfimages', [...range, '-list', '--', pdf], options),
  ]);
  const layers = parseBboxPages(boxes.toString('utf8'));
  // pdftotext ends every page with a form feed; pages are joined by the document job.
  const texts = text.toString('utf8').split('\f');
  const images = imagesByPage(list.toString('latin1'));
  const pages = new Map<number, PageRead>();
  layers.forEach((raw, i) => pages.set(first + i, { raw, text: texts[i] ?? '', images: images.get(first + i) ?? [] }));
  return pages;
}

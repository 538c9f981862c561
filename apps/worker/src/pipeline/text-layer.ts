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

/** A page's text of a few hundred kilobytes is a dense page; past this it is refused, not read. */
const MAX_LAYER_BYTES = 32 << 20;

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

/**
 * Parses `pdftotext -bbox-layout` output. poppler gives word boxes in the page's displayed space
 * (a page with /Rotate 90 is read as turned), and `<page>` its unrotated size.
 */
export function parseBboxLayout(xhtml: string, rotation: number): Omit<TextLayer, 'text'> {
  const layer: Omit<TextLayer, 'text'> = { width: 0, height: 0, blocks: [] };
  let block: LayerWord[][] | undefined;
  let line: LayerWord[] | undefined;
  for (const [, closing, tag, attributes = '', text = ''] of xhtml.matchAll(TAG)) {
    if (closing) continue;
    if (tag === 'page') {
      const [width, height] = [attribute(attributes, 'width'), attribute(attributes, 'height')];
      const sideways = rotation % 180 !== 0;
      layer.width = sideways ? height : width;
      layer.height = sideways ? width : height;
    } else if (tag === 'block') {
      block = [];
      layer.blocks.push(block);
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
  return layer;
}

/**
 * The page's text layer: its words and boxes (`pdftotext -bbox-layout`) and its text as pdftotext
 * writes it, two children at once, killed when `signal` aborts. The text is pdftotext's own rather
 * than rebuilt from the boxes: its spacing (a subscript joined to its base), hyphenation and
 * right-to-left handling are poppler's, and users compare against exactly that.
 */
export async function readTextLayer(
  pdf: string,
  page: number,
  rotation: number,
  signal: AbortSignal,
): Promise<TextLayer> {
  const n = String(page);
  const options = { timeoutMs: CHILD_TIMEOUT_MS, maxBytes: MAX_LAYER_BYTES, signal };
  const range = ['-f', n, '-l', n, '-enc', 'UTF-8'];
  const [boxes, text] = await Promise.all([
    runTool('pdftotext', [...range, '-bbox-layout', '--', pdf, '-'], options),
    runTool('pdftotext', [...range, '--', pdf, '-'], options),
  ]);
  // pdftotext ends every page with a form feed; pages are joined by the document job.
  return { ...parseBboxLayout(boxes.toString('utf8'), rotation), text: text.toString('utf8').replace(/\f$/, '') };
}

/**
 * Share of the page's area that its images cover, from `pdfimages -list`: each image's pixels over
 * the resolution it is drawn at is the area it is drawn over. Overlaps count twice; capped at 1.
 */
export function imageCoverage(list: string, width: number, height: number): number {
  let inches = 0;
  for (const row of list.split('\n').slice(2)) {
    const cells = row.trim().split(/\s+/);
    // page num type width height color comp bpc enc interp object ID x-ppi y-ppi size ratio
    if (cells.length < 14 || (cells[2] !== 'image' && cells[2] !== 'stencil')) continue;
    const [pixelsWide, pixelsHigh, xPpi, yPpi] = [cells[3], cells[4], cells[12], cells[13]].map(Number) as [
      number,
      number,
      number,
      number,
    ];
    if (xPpi > 0 && yPpi > 0) inches += (pixelsWide / xPpi) * (pixelsHigh / yPpi);
  }
  const pageInches = (width / 72) * (height / 72);
  return pageInches > 0 ? Math.min(1, inches / pageInches) : 0;
}

/** `imageCoverage` of one page: one `pdfimages -list` child. */
export async function readImageCoverage(
  pdf: string,
  page: number,
  size: { width: number; height: number },
  signal: AbortSignal,
): Promise<number> {
  const n = String(page);
  const list = await runTool('pdfimages', ['-f', n, '-l', n, '-list', '--', pdf], {
    timeoutMs: CHILD_TIMEOUT_MS,
    maxBytes: 8 << 20,
    signal,
  });
  return imageCoverage(list.toString('latin1'), size.width, size.height);
}

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runTool, type PageFormat, type WordResult } from '@pagefleet/shared';
import { clampDpi } from './rasterize.js';
import { judgeTextLayer, layerStats, type LayerVerdict } from './text-quality.js';
import { readImageCoverage, readTextLayer, type LayerWord, type TextLayer } from './text-layer.js';
import { CHILD_TIMEOUT_MS } from './deadline.js';

/** Confidence of a word read from the PDF: it is what the file says, not a guess. */
export const LAYER_CONFIDENCE = 100;

/** A page read from its text layer, in the pixels it would have been rendered at. */
export interface ExtractedPage {
  text: string;
  words: WordResult[];
  /** Blocks of lines of words, as laid out: what hOCR and TSV are made of. */
  blocks: WordResult[][][];
  width: number;
  height: number;
  dpi: number;
}

export type Extraction =
  { verdict: LayerVerdict & { use: false } } | { verdict: LayerVerdict & { use: true }; page: ExtractedPage };

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
 * Reads a PDF page's text layer and decides whether it is the page's text (see text-quality.ts).
 * The images are listed only when the layer holds decodable text: most pages are decided by
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
  const first = judgeTextLayer(stats, 0);
  if (!first.use) return { verdict: first };
  const coverage = await readImageCoverage(pdf, page, layer, signal);
  const verdict = judgeTextLayer(stats, coverage);
  if (!verdict.use) return { verdict };
  const dpi = clampDpi(layer.width, layer.height, size.dpi, size.maxPixels);
  return { verdict, page: toPixels(layer, dpi) };
}

const escapeXml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

const bboxOf = (words: WordResult[]) => ({
  x0: Math.min(...words.map((w) => w.bbox.x0)),
  y0: Math.min(...words.map((w) => w.bbox.y0)),
  x1: Math.max(...words.map((w) => w.bbox.x1)),
  y1: Math.max(...words.map((w) => w.bbox.y1)),
});
const bboxTitle = ({ x0, y0, x1, y1 }: WordResult['bbox']) => `bbox ${x0} ${y0} ${x1} ${y1}`;

/** hOCR of a page read from its layer, in Tesseract's structure (page, area, paragraph, line, word). */
export function layerHocr(page: ExtractedPage): string {
  const areas = page.blocks
    .filter((block) => block.flat().length > 0)
    .map((block, b) => {
      const lines = block
        .filter((line) => line.length > 0)
        .map((line, l) => {
          const words = line
            .map(
              (word, w) =>
                `<span class="ocrx_word" id="word_${b + 1}_${l + 1}_${w + 1}" title="${bboxTitle(word.bbox)}; x_wconf ${word.confidence}">${escapeXml(word.text)}</span>`,
            )
            .join(' ');
          return `<span class="ocr_line" id="line_${b + 1}_${l + 1}" title="${bboxTitle(bboxOf(line))}">${words}</span>`;
        });
      const title = bboxTitle(bboxOf(block.flat()));
      return `<div class="ocr_carea" id="block_${b + 1}" title="${title}"><p class="ocr_par" id="par_${b + 1}" title="${title}">${lines.join('\n')}</p></div>`;
    });
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
<head>
<title></title>
<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
<meta name="ocr-system" content="pagefleet (PDF text layer)"/>
<meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word"/>
</head>
<body>
<div class="ocr_page" id="page_1" title="bbox 0 0 ${page.width} ${page.height}; ppageno 0; scan_res ${page.dpi} ${page.dpi}">
${areas.join('\n')}
</div>
</body>
</html>
`;
}

/** TSV of a page read from its layer, with Tesseract's columns and levels (1 page … 5 word). */
export function layerTsv(page: ExtractedPage): string {
  const rows = ['level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext'];
  const row = (level: number, ids: number[], box: WordResult['bbox'], conf: number, text = '') =>
    rows.push([level, 1, ...ids, box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0, conf, text].join('\t'));
  row(1, [0, 0, 0, 0], { x0: 0, y0: 0, x1: page.width, y1: page.height }, -1);
  page.blocks.forEach((block, b) => {
    if (block.flat().length === 0) return;
    row(2, [b + 1, 0, 0, 0], bboxOf(block.flat()), -1);
    row(3, [b + 1, 1, 0, 0], bboxOf(block.flat()), -1);
    block.forEach((line, l) => {
      if (line.length === 0) return;
      row(4, [b + 1, 1, l + 1, 0], bboxOf(line), -1);
      line.forEach((word, w) =>
        row(5, [b + 1, 1, l + 1, w + 1], word.bbox, word.confidence, word.text.replace(/\t/g, ' ')),
      );
    });
  });
  return `${rows.join('\n')}\n`;
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
  if (formats.includes('hocr')) files.hocr = Buffer.from(layerHocr(page), 'utf8');
  if (formats.includes('tsv')) files.tsv = Buffer.from(layerTsv(page), 'utf8');
  if (formats.includes('pdf')) files.pdf = await copy();
  return files;
}

import {
  beginText,
  concatTransformationMatrix,
  endText,
  PDFDocument,
  PDFHexString,
  PDFName,
  popGraphicsState,
  pushGraphicsState,
  setCharacterSqueeze,
  setFontAndSize,
  setTextMatrix,
  setTextRenderingMode,
  showText,
  TextRenderingMode,
  type PDFOperator,
  type PDFPage,
  type PDFRef,
} from 'pdf-lib';
import type { WordResult } from '@pagefleet/shared';
import type { LaidOutPage } from './layout-formats.js';

/** Resolution assumed for an image that does not state one: it sets the page's size in points only. */
const ASSUMED_DPI = 300;
/** Every glyph of the invisible font is half an em wide; words are squeezed to their boxes. */
const GLYPH_WIDTH = 500;
/** Codes per font: single-byte codes, 0 unused. */
const CODES = 255;
/** The baseline sits this share of a word's box above its bottom (descenders below it). */
const DESCENT = 0.2;

/** UTF-16BE hex of one character, as ToUnicode maps a code to it. */
const utf16Hex = (char: string) =>
  [...Buffer.from(char, 'utf16le').swap16()].map((byte) => byte.toString(16).padStart(2, '0')).join('');

/**
 * The invisible fonts of a page: Type 3 fonts whose glyphs draw nothing, each code mapped by its
 * ToUnicode CMap to the character it stands for, 255 characters a font. No font file is embedded,
 * so any script an engine reads (Latin, Chinese…) is searchable and copyable.
 */
function invisibleFonts(doc: PDFDocument, chars: string[]): PDFRef[] {
  const { context } = doc;
  const glyph = context.register(context.stream(`${GLYPH_WIDTH} 0 d0`));
  const fonts: PDFRef[] = [];
  for (let start = 0; start < chars.length; start += CODES) {
    const group = chars.slice(start, start + CODES);
    const names = group.map((_char, i) => PDFName.of(`g${i + 1}`));
    const cmap = [
      '/CIDInit /ProcSet findresource begin 12 dict begin begincmap',
      '/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def',
      '/CMapName /Adobe-Identity-UCS def /CMapType 2 def',
      '1 begincodespacerange <00> <FF> endcodespacerange',
      ...Array.from({ length: Math.ceil(group.length / 100) }, (_chunk, c) => {
        const part = group.slice(c * 100, c * 100 + 100);
        const rows = part.map((char, i) => `<${(c * 100 + i + 1).toString(16).padStart(2, '0')}> <${utf16Hex(char)}>`);
        return `${part.length} beginbfchar\n${rows.join('\n')}\nendbfchar`;
      }),
      'endcmap CMapName currentdict /CMap defineresource pop end end',
    ].join('\n');
    const font = context.obj({
      Type: 'Font',
      Subtype: 'Type3',
      FontBBox: [0, 0, 0, 0],
      FontMatrix: [0.001, 0, 0, 0.001, 0, 0],
      CharProcs: context.obj(Object.fromEntries(names.map((name) => [name.asString().slice(1), glyph]))),
      Encoding: context.obj({ Type: 'Encoding', Differences: [1, ...names] }),
      FirstChar: 1,
      LastChar: group.length,
      Widths: group.map(() => GLYPH_WIDTH),
      Resources: context.obj({}),
      ToUnicode: context.register(context.stream(cmap)),
    });
    fonts.push(context.register(font));
  }
  return fonts;
}

/**
 * Writes `words` (boxes in pixels at `dpi`) on `pdfPage` as invisible text, in reading order;
 * `height` is the page's height in points, as the words' boxes see it.
 */
function writeInvisibleWords(
  doc: PDFDocument,
  pdfPage: PDFPage,
  words: readonly WordResult[],
  dpi: number | undefined,
  height: number,
): PDFOperator[] {
  const scale = 72 / (dpi ?? ASSUMED_DPI);
  const written = words.filter((word) => word.text.length > 0);
  const chars = [...new Set(written.flatMap((word) => [...word.text]))];
  const fonts = invisibleFonts(doc, chars);
  const codeOf = new Map(chars.map((char, i) => [char, { font: Math.floor(i / CODES), code: (i % CODES) + 1 }]));
  // Named apart from the fonts a page of the input already has.
  const names = fonts.map((font) => pdfPage.node.newFontDictionary('PagefleetF', font));
  const operators = [beginText(), setTextRenderingMode(TextRenderingMode.Invisible)];
  for (const word of written) {
    const size = Math.max(1, (word.bbox.y1 - word.bbox.y0) * scale);
    const boxWidth = (word.bbox.x1 - word.bbox.x0) * scale;
    const x = word.bbox.x0 * scale;
    const y = height - word.bbox.y1 * scale + DESCENT * size;
    // A word whose characters span fonts is written a run of one font at a time.
    let run: { font: number; codes: number[] } | undefined;
    const runs: Array<{ font: number; codes: number[] }> = [];
    for (const char of word.text) {
      const { font, code } = codeOf.get(char) as { font: number; code: number };
      if (run?.font !== font) runs.push((run = { font, codes: [] }));
      run.codes.push(code);
    }
    const glyphs = [...word.text].length;
    operators.push(setCharacterSqueeze((100 * boxWidth) / Math.max(1e-6, (glyphs * GLYPH_WIDTH * size) / 1000)));
    operators.push(setTextMatrix(1, 0, 0, 1, x, y));
    for (const { font, codes } of runs) {
      operators.push(setFontAndSize((names[font] as PDFName).asString().slice(1), size));
      operators.push(showText(PDFHexString.of(codes.map((code) => code.toString(16).padStart(2, '0')).join(''))));
    }
  }
  operators.push(endText());
  return operators;
}

/**
 * A one-page searchable PDF: the page's image (a JPEG of it as read) over the page, and each word
 * of its layout as invisible text over the word's box, in reading order. Built alike for every
 * engine.
 */
export async function layoutPdf(page: LaidOutPage, jpeg: Buffer): Promise<Buffer> {
  const doc = await PDFDocument.create();
  doc.setProducer('pagefleet');
  doc.setCreator('pagefleet');
  const scale = 72 / (page.dpi ?? ASSUMED_DPI);
  const [width, height] = [page.width * scale, page.height * scale];
  const pdfPage = doc.addPage([width, height]);
  pdfPage.drawImage(await doc.embedJpg(jpeg), { x: 0, y: 0, width, height });
  pdfPage.pushOperators(...writeInvisibleWords(doc, pdfPage, page.blocks.flat(2), page.dpi, height));
  return Buffer.from(await doc.save({ useObjectStreams: false }));
}

/**
 * A page of the input (`pagePdf`, one page, as qpdf copied it) with `words` added as invisible
 * text, boxes in pixels of the page as displayed at `dpi`: the page stays as it is, and only
 * what OCR found in its images becomes searchable besides its own text.
 */
export async function overlayPdf(pagePdf: Buffer, words: readonly WordResult[], dpi: number): Promise<Buffer> {
  const doc = await PDFDocument.load(pagePdf, { updateMetadata: false });
  const pdfPage = doc.getPage(0);
  const box = pdfPage.getCropBox();
  const rotation = ((pdfPage.getRotation().angle % 360) + 360) % 360;
  // From the page as displayed (points from its bottom left) to its user space, /Rotate undone.
  const display: Array<[number, number, number, number, number, number]> = [
    [1, 0, 0, 1, box.x, box.y],
    [0, 1, -1, 0, box.x + box.width, box.y],
    [-1, 0, 0, -1, box.x + box.width, box.y + box.height],
    [0, -1, 1, 0, box.x, box.y + box.height],
  ];
  const height = rotation % 180 ? box.width : box.height;
  pdfPage.pushOperators(
    pushGraphicsState(),
    concatTransformationMatrix(...(display[rotation / 90] ?? [1, 0, 0, 1, box.x, box.y])),
    ...writeInvisibleWords(doc, pdfPage, words, dpi, height),
    popGraphicsState(),
  );
  return Buffer.from(await doc.save({ useObjectStreams: false }));
}

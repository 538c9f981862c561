import {
  degrees,
  PDFDict,
  PDFDocument,
  PDFName,
  PDFNumber,
  popGraphicsState,
  pushGraphicsState,
  setTextRenderingMode,
  StandardFonts,
  TextRenderingMode,
  type PDFPage,
} from 'pdf-lib';
import sharp from 'sharp';
import { FIXTURE_DPI } from './fixtures.js';

/**
 * One page of a generated PDF, with known content:
 * - `text`: born-digital lines in Helvetica (a real, decodable text layer);
 * - `scan`: a page image and nothing else;
 * - `ocred`: a page image under an invisible text layer of `lines`, as OCR tools write them;
 * - `garbage`: a page image under an invisible layer drawn in a Type 3 font whose glyphs have no
 *   Unicode mapping (poppler reads control characters), as in OCRmyPDF's type3_font_nomapping.pdf;
 * - `illustrated`: born-digital lines, then figures (images, see `figure`) drawn 6 inches wide one
 *   below the other, each above its caption line;
 * - `shifted`: born-digital lines whose font's ToUnicode map names, for every letter, the letter
 *   three places later: the page shows the lines, its layer reads "Wkh vhuylfh" (a font that maps
 *   its codes to the wrong letters);
 * - `rotate` turns a page as displayed (/Rotate).
 */
export type LayeredPage =
  | { kind: 'text'; lines: string[]; rotate?: number }
  | { kind: 'illustrated'; lines: string[]; figures: Array<{ image: Buffer; caption: string }>; rotate?: number }
  | { kind: 'shifted'; lines: string[] }
  | { kind: 'scan'; image: Buffer }
  | { kind: 'ocred'; image: Buffer; lines: string[] }
  | { kind: 'garbage'; image: Buffer };

export const TEXT_SIZE = 14;
const LETTER: [number, number] = [612, 792];

async function drawScan(pdf: PDFDocument, data: Buffer): Promise<PDFPage> {
  const image = data[0] === 0xff ? await pdf.embedJpg(data) : await pdf.embedPng(data);
  const width = (image.width * 72) / FIXTURE_DPI;
  const height = (image.height * 72) / FIXTURE_DPI;
  const page = pdf.addPage([width, height]);
  page.drawImage(image, { x: 0, y: 0, width, height });
  return page;
}

/** A Type 3 font of one glyph (a filled box) named g1: a name no Unicode mapping knows. */
function unmappedFont(pdf: PDFDocument) {
  const glyph = pdf.context.stream('600 0 0 0 500 700 d1\n0 0 500 700 re f');
  return pdf.context.register(
    pdf.context.obj({
      Type: 'Font',
      Subtype: 'Type3',
      FontBBox: [0, 0, 600, 700],
      FontMatrix: [0.001, 0, 0, 0.001, 0, 0],
      CharProcs: { g1: pdf.context.register(glyph) },
      Encoding: { Type: 'Encoding', Differences: [1, PDFName.of('g1')] },
      FirstChar: 1,
      LastChar: 1,
      Widths: [PDFNumber.of(600)],
      Resources: {},
    }),
  );
}

/** A ToUnicode CMap mapping each WinAnsi letter code to the letter `by` places later in the alphabet. */
function shiftedCmap(by: number): string {
  const rows: string[] = [];
  for (const base of [0x41, 0x61]) {
    for (let i = 0; i < 26; i++) {
      const hex = (code: number) => code.toString(16).padStart(2, '0');
      rows.push(`<${hex(base + i)}> <00${hex(base + ((i + by) % 26))}>`);
    }
  }
  return [
    '/CIDInit /ProcSet findresource begin 12 dict begin begincmap',
    '/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def',
    '/CMapName /Shifted def /CMapType 2 def',
    '1 begincodespacerange <00> <FF> endcodespacerange',
    `${rows.length} beginbfchar`,
    ...rows,
    'endbfchar',
    'endcmap CMapName currentdict /CMap defineresource pop end end',
  ].join('\n');
}

/** A PDF of the given pages, in order. */
export async function layeredPdf(pages: LayeredPage[]): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const spec of pages) {
    if (spec.kind === 'text') {
      const page = pdf.addPage(LETTER);
      spec.lines.forEach((line, i) =>
        page.drawText(line, { x: 72, y: 720 - i * TEXT_SIZE * 1.5, size: TEXT_SIZE, font }),
      );
      if (spec.rotate) page.setRotation(degrees(spec.rotate));
    } else if (spec.kind === 'illustrated') {
      const page = pdf.addPage(LETTER);
      spec.lines.forEach((line, i) =>
        page.drawText(line, { x: 72, y: 720 - i * TEXT_SIZE * 1.5, size: TEXT_SIZE, font }),
      );
      let top = 720 - spec.lines.length * TEXT_SIZE * 1.5 - 12;
      for (const { image: data, caption } of spec.figures) {
        const image = await pdf.embedPng(data);
        const width = 432;
        const height = (width * image.height) / image.width;
        page.drawImage(image, { x: 90, y: top - height, width, height });
        page.drawText(caption, { x: 72, y: top - height - 24, size: TEXT_SIZE, font });
        top -= height + 48;
      }
      if (spec.rotate) page.setRotation(degrees(spec.rotate));
    } else if (spec.kind === 'shifted') {
      const page = pdf.addPage(LETTER);
      const shifted = await pdf.embedFont(StandardFonts.Helvetica);
      spec.lines.forEach((line, i) =>
        page.drawText(line, { x: 72, y: 720 - i * TEXT_SIZE * 1.5, size: TEXT_SIZE, font: shifted }),
      );
      // The font's dictionary exists once embedded; its glyphs stay Helvetica's, its text does not.
      await shifted.embed();
      const dict = pdf.context.lookup(shifted.ref, PDFDict);
      dict.set(PDFName.of('ToUnicode'), pdf.context.register(pdf.context.stream(shiftedCmap(3))));
    } else if (spec.kind === 'scan') {
      await drawScan(pdf, spec.image);
    } else if (spec.kind === 'ocred') {
      const page = await drawScan(pdf, spec.image);
      page.pushOperators(pushGraphicsState(), setTextRenderingMode(TextRenderingMode.Invisible));
      const size = 11;
      spec.lines.forEach((line, i) =>
        page.drawText(line, { x: 24, y: page.getHeight() - 60 - i * size * 1.6, size, font }),
      );
      page.pushOperators(popGraphicsState());
    } else {
      const page = await drawScan(pdf, spec.image);
      page.node.setFontDictionary(PDFName.of('T3'), unmappedFont(pdf));
      const codes = '01'.repeat(40);
      const lines = Array.from(
        { length: 20 },
        (_, i) => `1 0 0 1 24 ${page.getHeight() - 60 - i * 18} Tm <${codes}> Tj`,
      );
      const content = `q BT 3 Tr /T3 12 Tf\n${lines.join('\n')}\nET Q`;
      page.node.addContentStream(pdf.context.register(pdf.context.stream(content)));
    }
  }
  return Buffer.from(await pdf.save());
}

const svgEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A figure as a PNG of 1800×900 pixels (drawn 6 × 3 inches: 300 DPI), with known content:
 * - `words`: lines of text on a tinted panel, as a screenshot or a pasted scan shows them;
 * - `chart`: a bar chart whose title and axis labels are `words` (one label a bar);
 * - `picture`: shapes and gradients and no text at all.
 */
export async function figure(kind: 'words' | 'chart' | 'picture', words: string[] = []): Promise<Buffer> {
  const [width, height] = [1800, 900];
  const text = (x: number, y: number, size: number, value: string, anchor = 'start') =>
    `<text x="${x}" y="${y}" font-family="DejaVu Sans" font-size="${size}" text-anchor="${anchor}">${svgEscape(value)}</text>`;
  let body: string;
  if (kind === 'words') {
    body = `<rect width="100%" height="100%" fill="#eef3f8"/>${words.map((line, i) => text(90, 170 + i * 110, 64, line)).join('')}`;
  } else if (kind === 'chart') {
    const [title, ...labels] = words;
    const bars = labels
      .map((label, i) => {
        const x = 260 + i * 360;
        const barHeight = 180 + ((i * 137) % 360);
        return `<rect x="${x}" y="${720 - barHeight}" width="200" height="${barHeight}" fill="#4a78b0"/>${text(x + 100, 800, 52, label, 'middle')}`;
      })
      .join('');
    body = `<rect width="100%" height="100%" fill="#fff"/>${text(900, 110, 64, title ?? '', 'middle')}<line x1="200" y1="720" x2="1700" y2="720" stroke="#000" stroke-width="6"/><line x1="200" y1="160" x2="200" y2="720" stroke="#000" stroke-width="6"/>${bars}`;
  } else {
    body = `<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#6aa5e0"/><stop offset="1" stop-color="#e8f1fb"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#sky)"/><circle cx="1400" cy="220" r="120" fill="#f5d76e"/><path d="M0 900 L500 380 L900 760 L1250 450 L1800 900 Z" fill="#5b7f4a"/>`;
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`;
  return sharp(Buffer.from(svg), { density: 72 }).flatten({ background: '#fff' }).png().toBuffer();
}

import {
  degrees,
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
import { FIXTURE_DPI } from './fixtures.js';

/**
 * One page of a generated PDF, with known content:
 * - `text`: born-digital lines in Helvetica (a real, decodable text layer);
 * - `scan`: a page image and nothing else;
 * - `ocred`: a page image under an invisible text layer of `lines`, as OCR tools write them;
 * - `garbage`: a page image under an invisible layer drawn in a Type 3 font whose glyphs have no
 *   Unicode mapping (poppler reads control characters), as in OCRmyPDF's type3_font_nomapping.pdf;
 * - `rotate` turns a page as displayed (/Rotate).
 */
export type LayeredPage =
  | { kind: 'text'; lines: string[]; rotate?: number }
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

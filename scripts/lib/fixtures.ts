import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';

/** Scans in tests are rendered at this DPI: 8.5 in wide at 300 DPI. */
export const FIXTURE_DPI = 300;
const WIDTH = 2550;

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A page of black serif text on white, as a PNG: the text is known, so OCR can be checked exactly. */
export async function textPage(lines: string[]): Promise<Buffer> {
  const lineHeight = 80;
  const height = 200 + lines.length * lineHeight;
  const body = lines
    .map(
      (line, i) =>
        `<text x="150" y="${180 + i * lineHeight}" font-family="DejaVu Serif" font-size="42">${escape(line)}</text>`,
    )
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}"><rect width="100%" height="100%" fill="#fff"/>${body}</svg>`;
  return sharp(Buffer.from(svg), { density: 72 })
    .flatten({ background: '#fff' })
    .png()
    .withMetadata({ density: FIXTURE_DPI })
    .toBuffer();
}

const LETTER_HEIGHT = 3300;
const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they ' +
  'you were her she there one all we their can has been if more when will would who so no invoice total date'
).split(' ');

/** Deterministic lines of ordinary words: the same seed gives the same page. */
export function wordLines(seed: number, count: number, wordsPerLine = 11): string[] {
  let state = (seed * 2654435761) % 2 ** 32;
  const next = () => (state = (state * 1664525 + 1013904223) % 2 ** 32) / 2 ** 32;
  return Array.from({ length: count }, () =>
    Array.from({ length: wordsPerLine }, () => WORDS[Math.floor(next() * WORDS.length)]).join(' '),
  );
}

let scanBackground: Promise<Buffer> | undefined;

/**
 * A letter page as a scanner delivers it: 36 lines of text on paper with sensor noise, a gray
 * JPEG at FIXTURE_DPI of about 0.5 MB. The noise is made once and shared by every page.
 */
export async function scannedPage(seed: number): Promise<Buffer> {
  const size = { width: WIDTH, height: LETTER_HEIGHT, channels: 1 } as const;
  scanBackground ??= sharp({
    create: { ...size, channels: 3, background: '#ececec', noise: { type: 'gaussian', mean: 236, sigma: 5 } },
  })
    .extractChannel(0)
    .raw()
    .toBuffer();
  const body = wordLines(seed, 36)
    .map(
      (line, i) => `<text x="150" y="${240 + i * 80}" font-family="DejaVu Serif" font-size="40">${escape(line)}</text>`,
    )
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${LETTER_HEIGHT}">${body}</svg>`;
  return sharp(await scanBackground, { raw: size })
    .composite([{ input: Buffer.from(svg) }])
    .grayscale()
    .jpeg({ quality: 70 })
    .withMetadata({ density: FIXTURE_DPI })
    .toBuffer();
}

/** A PDF whose pages are the given PNG or JPEG images, each the size it has at FIXTURE_DPI (a scanned document). */
export async function pdfOf(images: Buffer[]): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  for (const data of images) {
    const image = data[0] === 0xff ? await pdf.embedJpg(data) : await pdf.embedPng(data);
    const width = (image.width * 72) / FIXTURE_DPI;
    const height = (image.height * 72) / FIXTURE_DPI;
    pdf.addPage([width, height]).drawImage(image, { x: 0, y: 0, width, height });
  }
  return Buffer.from(await pdf.save());
}

/** One multi-page TIFF holding the images as its pages (all must share a size). */
export async function tiffOf(images: Buffer[]): Promise<Buffer> {
  return sharp(images, { join: { animated: true } })
    .tiff({ compression: 'lzw' })
    .toBuffer();
}

/** A one-page PDF of a 3600×5000 JPEG of noise (16.4 MiB): an upload as large as a scan gets, that compresses no further. */
export async function noisePdf(): Promise<Buffer> {
  const noise = { type: 'gaussian', mean: 128, sigma: 60 } as const;
  const create = { width: 3600, height: 5000, channels: 3, background: '#808080', noise } as const;
  return pdfOf([await sharp({ create }).jpeg({ quality: 95 }).toBuffer()]);
}

export const jpegOf = (png: Buffer) => sharp(png).jpeg({ quality: 90 }).toBuffer();
export const webpOf = (png: Buffer) => sharp(png).webp({ quality: 90 }).toBuffer();

/** Character error rate (see scripts/lib/error-rates.ts for the normalization). */
export { cer } from '../../scripts/lib/error-rates.js';

/** A PDF written object by object, with a correct cross-reference table. */
export function rawPdf(objects: string[]): Buffer {
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/**
 * A one-page PDF of a few hundred bytes that takes any renderer minutes: form XObjects nested
 * `depth` deep, each drawing the next ten times, so the page strokes 10^depth lines (depth 6:
 * 42 s in pdftoppm here; each level is ten times that).
 */
export function slowPdf(depth = 7): Buffer {
  const stream = (content: string, extra = '') =>
    `<< ${extra}/Length ${content.length} >>\nstream\n${content}\nendstream`;
  const first = 4;
  const forms = Array.from({ length: depth }, (_, level) => {
    const id = first + level;
    const content = level === depth - 1 ? '0 0 m 612 792 l S' : Array.from({ length: 10 }, () => `/X Do`).join('\n');
    const resources = level === depth - 1 ? '' : `/Resources << /XObject << /X ${id + 1} 0 R >> >> `;
    return stream(content, `/Type /XObject /Subtype /Form /BBox [0 0 612 792] ${resources}`);
  });
  return rawPdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /X ${first} 0 R >> >> /Contents ${first + depth} 0 R >>`,
    ...forms,
    stream('/X Do'),
  ]);
}

/** A born-digital letter page: `lines` in `size`-point Helvetica, one PDF object per part. */
export function textPdf(lines: string[], size = 24): Buffer {
  const text = lines
    .map(
      (line, i) => `BT /F1 ${size} Tf 72 ${720 - size - i * size * 1.5} Td (${line.replace(/[()\\]/g, '\\$&')}) Tj ET`,
    )
    .join('\n');
  return rawPdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Length ${text.length} >>\nstream\n${text}\nendstream`,
  ]);
}

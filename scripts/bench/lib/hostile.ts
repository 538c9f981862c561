import { PDFDocument, StandardFonts } from 'pdf-lib';
import sharp from 'sharp';
import { pdfOf, scannedPage, wordLines } from '../../lib/fixtures.js';

/** A 20000×20000 gray PNG with one line of large text: the image a careless service decodes whole. */
export function hugePng(): Promise<Buffer> {
  return sharp({
    create: { width: 20_000, height: 20_000, channels: 3, background: '#ffffff' },
    limitInputPixels: false,
  })
    .composite([
      {
        input: Buffer.from(
          `<svg xmlns="http://www.w3.org/2000/svg" width="20000" height="600"><text x="400" y="400" font-family="DejaVu Serif" font-size="300">${wordLines(7, 1, 6)[0]}</text></svg>`,
        ),
        top: 1000,
        left: 0,
      },
    ])
    .grayscale()
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/**
 * A PDF page with a 200-inch MediaBox and one line of text: rendered at the requested DPI it would
 * be 60000 pixels a side. It carries its text, so only forceOcr makes it render.
 */
export async function mediaboxPdf(): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.TimesRoman);
  pdf.addPage([14_400, 14_400]).drawText(wordLines(8, 1, 6)[0] as string, { x: 720, y: 12_000, size: 480, font });
  return Buffer.from(await pdf.save());
}

/** A letter scan enlarged to 7000 pixels wide (63 megapixels): a poster's photo. */
export async function posterPng(): Promise<Buffer> {
  return sharp(await scannedPage(3))
    .resize({ width: 7000 })
    .png()
    .toBuffer();
}

/**
 * Four documents to submit at once to memory-limited workers: a poster, a 20000×20000 PNG, a
 * 200-inch MediaBox (forceOcr: it carries its text, and rendering it is what it costs) and a
 * 6-page scan beside them.
 */
export async function hostileDocuments(): Promise<
  Array<{ name: string; data: Buffer; fields: Record<string, string> }>
> {
  return [
    { name: 'poster.png', data: await posterPng(), fields: {} },
    { name: 'huge.png', data: await hugePng(), fields: {} },
    { name: 'mediabox.pdf', data: await mediaboxPdf(), fields: { forceOcr: 'true' } },
    { name: 'scan.pdf', data: await pdfOf(await Promise.all([13, 14, 15, 16, 17, 18].map(scannedPage))), fields: {} },
  ];
}

import sharp from 'sharp';
import { wordLines } from '../../lib/fixtures.js';

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

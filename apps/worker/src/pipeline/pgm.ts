/** An 8-bit grayscale page, kept in the PGM (P5) form Tesseract's Leptonica reads without a PNG round trip. */
export interface GrayImage {
  /** The whole PGM file: header then one byte per pixel. */
  pgm: Buffer;
  width: number;
  height: number;
}

/** Reads the P5 header: magic, width, height, maxval, separated by whitespace or `#` comments. */
function readHeader(pgm: Buffer): { fields: number[]; offset: number } {
  const fields: number[] = [];
  let at = 2;
  if (pgm.toString('latin1', 0, 2) !== 'P5') throw new Error('rasterizer output is not a binary PGM');
  while (fields.length < 3 && at < Math.min(pgm.length, 1024)) {
    const char = pgm[at] as number;
    if (char === 0x23) {
      while (at < pgm.length && pgm[at] !== 0x0a) at++;
    } else if (char >= 0x30 && char <= 0x39) {
      let end = at;
      while (end < pgm.length && (pgm[end] as number) >= 0x30 && (pgm[end] as number) <= 0x39) end++;
      fields.push(Number(pgm.toString('latin1', at, end)));
      at = end;
      continue;
    }
    at++;
  }
  // Exactly one whitespace byte separates the header from the pixels.
  return { fields, offset: at + 1 };
}

export function parsePgm(pgm: Buffer): GrayImage {
  const { fields, offset } = readHeader(pgm);
  const [width = 0, height = 0, maxval = 0] = fields;
  if (maxval !== 255 || width === 0 || pgm.length !== offset + width * height) {
    throw new Error(`unexpected PGM: ${width}x${height}, maxval ${maxval}, ${pgm.length} bytes`);
  }
  return { pgm, width, height };
}

export function encodePgm(pixels: Buffer, width: number, height: number): GrayImage {
  return { pgm: Buffer.concat([Buffer.from(`P5\n${width} ${height}\n255\n`, 'latin1'), pixels]), width, height };
}

import { readFile, stat } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import {
  decodePDFRawStream,
  PDFArray,
  PDFDict,
  PDFDocument,
  PDFName,
  PDFNumber,
  PDFRawStream,
  PDFRef,
  ParseSpeeds,
  type PDFObject,
} from 'pdf-lib';
import { embeddedImage, type EmbeddedImage } from './embedded-image.js';

/** A rectangle in points, from the top left of the page as displayed. */
export interface PlacedRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** An image's pixels as drawn, where the worker can decode them itself (see `placeImages`). */
export interface ImageSource {
  image: EmbeddedImage;
  /** Drawn upside down. */
  flip: boolean;
  /** Drawn mirrored. */
  flop: boolean;
}

/** Where an image is drawn, and its pixels where they can be decoded here. */
export interface PlacedImage extends PlacedRect {
  source?: ImageSource | undefined;
}

/** Past these a page is not walked: its file, its content streams and forms together, its operators. */
const MAX_FILE_BYTES = 16 << 20;
const MAX_CONTENT_BYTES = 8 << 20;
const MAX_OPERATORS = 500_000;
/** Forms drawn inside forms, deeper than this, are not followed (a form may draw itself). */
const MAX_FORM_DEPTH = 12;

type Matrix = [number, number, number, number, number, number];
const IDENTITY: Matrix = [1, 0, 0, 1, 0, 0];

/** `m` applied first, then `n`: PDF's `m × n`. */
const multiply = (m: Matrix, n: Matrix): Matrix => [
  m[0] * n[0] + m[1] * n[2],
  m[0] * n[1] + m[1] * n[3],
  m[2] * n[0] + m[3] * n[2],
  m[2] * n[1] + m[3] * n[3],
  m[4] * n[0] + m[5] * n[2] + n[4],
  m[4] * n[1] + m[5] * n[3] + n[5],
];

class WalkLimit extends Error {}

/** Byte classes of PDF's syntax, by table: a content stream of several megabytes is read byte by byte. */
const WHITE = 1;
const DELIMITER = 2;
const CLASS = new Uint8Array(256);
for (const byte of [0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]) CLASS[byte] = WHITE;
for (const char of '()<>[]{}/%') CLASS[char.charCodeAt(0)] = DELIMITER;
const isWhite = (byte: number | undefined) => byte !== undefined && CLASS[byte] === WHITE;

/**
 * The number starting at `start` (PDF's: optional sign, digits, at most one point, then a delimiter
 * or whitespace), read off the bytes: most of a content stream is numbers, and a string for each
 * made the walk of a 2 MB chart twice as slow.
 */
function numberAt(bytes: Buffer, start: number): { value: number; end: number } | undefined {
  let i = start;
  const sign = bytes[i] === 0x2d ? -1 : 1;
  if (bytes[i] === 0x2d || bytes[i] === 0x2b) i++;
  let value = 0;
  let scale = 0;
  let digits = 0;
  for (; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte >= 0x30 && byte <= 0x39) {
      value = value * 10 + byte - 0x30;
      digits++;
      if (scale) scale *= 10;
    } else if (byte === 0x2e && !scale) scale = 1;
    else break;
  }
  if (digits === 0 || (i < bytes.length && CLASS[bytes[i] as number] === 0)) return undefined;
  return { value: (sign * value) / (scale || 1), end: i };
}

/**
 * The operators of a content stream that place images, and their operands: numbers, names and
 * anything else (strings, arrays, dictionaries) skipped as one opaque operand.
 */
function* operators(bytes: Buffer): Generator<{ op: string; operands: Array<number | string | undefined> }> {
  let operands: Array<number | string | undefined> = [];
  let i = 0;
  const word = () => {
    const start = i;
    while (i < bytes.length && CLASS[bytes[i] as number] === 0) i++;
    return bytes.toString('latin1', start, i);
  };
  while (i < bytes.length) {
    const byte = bytes[i] as number;
    if (CLASS[byte] === WHITE) {
      i++;
    } else if (byte === 0x25 /* % */) {
      while (i < bytes.length && bytes[i] !== 0x0a && bytes[i] !== 0x0d) i++;
    } else if (byte === 0x28 /* ( */) {
      let depth = 0;
      for (; i < bytes.length; i++) {
        const c = bytes[i];
        if (c === 0x5c /* \ */) i++;
        else if (c === 0x28) depth++;
        else if (c === 0x29 && --depth === 0) break;
      }
      i++;
      operands.push(undefined);
    } else if (byte === 0x3c /* < */ && bytes[i + 1] !== 0x3c) {
      while (i < bytes.length && bytes[i] !== 0x3e) i++;
      i++;
      operands.push(undefined);
    } else if (byte === 0x3c || byte === 0x3e || byte === 0x5b || byte === 0x5d || byte === 0x7b || byte === 0x7d) {
      // << >> [ ] { }: the operands inside arrays and dictionaries are kept but never read.
      i += byte === 0x3c || byte === 0x3e ? 2 : 1;
    } else if (byte === 0x2f /* / */) {
      i++;
      operands.push(`/${word()}`);
    } else {
      const number = numberAt(bytes, i);
      if (number) {
        operands.push(number.value);
        i = number.end;
        continue;
      }
      const token = word() || String.fromCharCode(bytes[i++] as number);
      if (token === 'ID') {
        // Inline image data: binary up to whitespace, EI, whitespace (or the stream's end).
        i++;
        while (
          i < bytes.length &&
          !(
            isWhite(bytes[i - 1]) &&
            bytes[i] === 0x45 &&
            bytes[i + 1] === 0x49 &&
            (i + 2 >= bytes.length || isWhite(bytes[i + 2]))
          )
        )
          i++;
        i += 2;
      }
      yield { op: token, operands };
      operands = [];
    }
  }
}

interface Walk {
  doc: PDFDocument;
  rects: Array<{ box: [number, number, number, number]; ctm: Matrix; stream?: PDFRawStream }>;
  contentBytes: number;
  operators: number;
}

const lookup = (doc: PDFDocument, object: PDFObject | undefined): PDFObject | undefined =>
  object instanceof PDFRef ? doc.context.lookup(object) : object;

/** Flate data inflated by zlib up to `limit` bytes; undefined where zlib finds it damaged (pdf-lib's decoder reads what it can). */
function inflated(stream: PDFRawStream, limit: number): Buffer | undefined {
  try {
    return inflateSync(stream.getContents(), { maxOutputLength: limit + 1 });
  } catch (err) {
    if (err instanceof RangeError) throw new WalkLimit('content streams too large');
    return undefined;
  }
}

/**
 * A content stream's bytes, counted against the walk's limit. Flate alone (nearly every content
 * stream) is inflated by zlib, stopped at the limit rather than checked after; other filters by
 * pdf-lib's own decoders.
 */
function decode(walk: Walk, stream: PDFRawStream): Buffer {
  const left = MAX_CONTENT_BYTES - walk.contentBytes;
  const filter = walk.doc.context.lookup(stream.dict.get(PDFName.of('Filter')));
  const onlyFlate =
    (filter === PDFName.of('FlateDecode') ||
      (filter instanceof PDFArray &&
        filter.size() === 1 &&
        walk.doc.context.lookup(filter.get(0)) === PDFName.of('FlateDecode'))) &&
    !stream.dict.has(PDFName.of('DecodeParms'));
  const bytes = (onlyFlate && inflated(stream, left)) || Buffer.from(decodePDFRawStream(stream).decode());
  walk.contentBytes += bytes.length;
  if (walk.contentBytes > MAX_CONTENT_BYTES) throw new WalkLimit('content streams too large');
  return bytes;
}

/** The unit square under `ctm`, as its bounding box in user space; `stream` the image XObject drawn there. */
function place(walk: Walk, ctm: Matrix, stream?: PDFRawStream): void {
  const corners = [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ].map(([x, y]) => [
    ctm[0] * (x as number) + ctm[2] * (y as number) + ctm[4],
    ctm[1] * (x as number) + ctm[3] * (y as number) + ctm[5],
  ]);
  const xs = corners.map((corner) => corner[0] as number);
  const ys = corners.map((corner) => corner[1] as number);
  walk.rects.push({ box: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)], ctm, stream });
}

const numbersOf = (array: PDFObject | undefined): number[] | undefined =>
  array instanceof PDFArray
    ? array.asArray().map((item) => (item instanceof PDFNumber ? item.asNumber() : Number.NaN))
    : undefined;

/** Follows one content stream: q/Q/cm for the transformation, Do and inline images for images. */
function walkContent(walk: Walk, content: Buffer, resources: PDFDict | undefined, start: Matrix, depth: number) {
  const xObjects = lookup(walk.doc, resources?.get(PDFName.of('XObject')));
  const stack: Matrix[] = [];
  let ctm = start;
  for (const { op, operands } of operators(content)) {
    if (++walk.operators > MAX_OPERATORS) throw new WalkLimit('too many operators');
    if (op === 'q') stack.push(ctm);
    else if (op === 'Q') ctm = stack.pop() ?? ctm;
    else if (op === 'cm' && operands.length >= 6) {
      const m = operands.slice(-6);
      if (m.every((value) => typeof value === 'number')) ctm = multiply(m as Matrix, ctm);
    } else if (op === 'ID') place(walk, ctm);
    else if (op === 'Do' && typeof operands.at(-1) === 'string' && xObjects instanceof PDFDict) {
      const object = lookup(walk.doc, xObjects.get(PDFName.of((operands.at(-1) as string).slice(1))));
      if (!(object instanceof PDFRawStream)) continue;
      const subtype = object.dict.get(PDFName.of('Subtype'));
      if (subtype === PDFName.of('Image')) place(walk, ctm, object);
      else if (subtype === PDFName.of('Form') && depth < MAX_FORM_DEPTH) {
        const matrix = numbersOf(lookup(walk.doc, object.dict.get(PDFName.of('Matrix'))));
        const own = lookup(walk.doc, object.dict.get(PDFName.of('Resources')));
        walkContent(
          walk,
          decode(walk, object),
          own instanceof PDFDict ? own : resources,
          matrix?.length === 6 && matrix.every(Number.isFinite) ? multiply(matrix as Matrix, ctm) : ctm,
          depth + 1,
        );
      }
    }
  }
}

/** From user space to points from the top left of the page as displayed (its crop box, turned by /Rotate). */
function toDisplay(
  [x0, y0, x1, y1]: [number, number, number, number],
  box: { x: number; y: number; width: number; height: number },
  rotation: number,
): PlacedRect {
  const corner = (x: number, y: number): [number, number] => {
    const [u, v] = [x - box.x, y - box.y];
    if (rotation === 90) return [v, u];
    if (rotation === 180) return [box.width - u, v];
    if (rotation === 270) return [box.height - v, box.width - u];
    return [u, box.height - v];
  };
  const [a, b] = [corner(x0, y0), corner(x1, y1)];
  return { x0: Math.min(a[0], b[0]), y0: Math.min(a[1], b[1]), x1: Math.max(a[0], b[0]), y1: Math.max(a[1], b[1]) };
}

/**
 * The pixels of an image drawn at `ctm`, where the worker can decode them as a renderer would show
 * them: an image XObject it decodes (embedded-image.ts), drawn upright, upside down or mirrored
 * (not turned or skewed), whole on a page that is not turned (/Rotate 0). Elsewhere it is rendered.
 */
function sourceOf(doc: PDFDocument, placed: Walk['rects'][number], whole: boolean, rotation: number) {
  const [a, b, c, d] = placed.ctm;
  if (!placed.stream || !whole || rotation !== 0 || b !== 0 || c !== 0 || a === 0 || d === 0) return undefined;
  const image = embeddedImage(doc, placed.stream);
  return image && { image, flip: d < 0, flop: a < 0 };
}

/**
 * `pdf` parsed to place its images, or undefined where the file is too large to load here,
 * encrypted (its content streams cannot be read without decrypting them), or unreadable by
 * pdf-lib.
 */
export async function parseForPlacement(
  pdf: string,
  /** The file's size, where the caller has it already. */
  bytes?: number,
): Promise<PDFDocument | undefined> {
  if ((bytes ?? (await stat(pdf)).size) > MAX_FILE_BYTES) return undefined;
  try {
    // Parsed in one go (pdf-lib yields to the event loop every 100 objects by default, which made
    // a 1 MB paper's parse a third slower): at most MAX_FILE_BYTES, so the loop waits a moment.
    return await PDFDocument.load(await readFile(pdf), {
      updateMetadata: false,
      throwOnInvalidObject: true,
      parseSpeed: ParseSpeeds.Fastest,
    });
  } catch {
    return undefined;
  }
}

/**
 * Where page `page` (1-based) of `doc` draws its images (an image's place is the unit square under
 * the transformation it is drawn with, read from its content streams and the forms they draw),
 * clipped to the page, with the pixels of those the worker can decode (`sourceOf`). Clipping
 * paths are ignored: a clipped image counts whole. Undefined where its content cannot be read or
 * is past the limits above. Reads `doc` and changes nothing in it: pages of one parse are placed
 * in turn.
 */
export function placeImagesIn(doc: PDFDocument, page: number): PlacedImage[] | undefined {
  try {
    const pdfPage = doc.getPage(page - 1);
    const walk: Walk = { doc, rects: [], contentBytes: 0, operators: 0 };
    const resources = lookup(doc, pdfPage.node.getInheritableAttribute(PDFName.of('Resources')));
    const contents = lookup(doc, pdfPage.node.get(PDFName.of('Contents')));
    const streams = contents instanceof PDFArray ? contents.asArray().map((item) => lookup(doc, item)) : [contents];
    // A page's content streams are one stream split in parts: an operator may span two.
    const parts = streams.filter((stream) => stream instanceof PDFRawStream).map((stream) => decode(walk, stream));
    const joined = Buffer.concat(parts.flatMap((part) => [part, Buffer.from('\n')]));
    walkContent(walk, joined, resources instanceof PDFDict ? resources : undefined, IDENTITY, 0);
    const box = pdfPage.getCropBox();
    const rotation = ((pdfPage.getRotation().angle % 360) + 360) % 360;
    const [width, height] = rotation % 180 ? [box.height, box.width] : [box.width, box.height];
    return walk.rects
      .map((placed) => {
        const rect = toDisplay(placed.box, box, rotation);
        const clipped = {
          x0: Math.max(0, rect.x0),
          y0: Math.max(0, rect.y0),
          x1: Math.min(width, rect.x1),
          y1: Math.min(height, rect.y1),
        };
        const whole =
          clipped.x0 === rect.x0 && clipped.y0 === rect.y0 && clipped.x1 === rect.x1 && clipped.y1 === rect.y1;
        return { ...clipped, source: sourceOf(doc, placed, whole, rotation) };
      })
      .filter((rect) => rect.x1 > rect.x0 && rect.y1 > rect.y0);
  } catch {
    return undefined;
  }
}

/** `placeImagesIn` a parse of its own: undefined also where `parseForPlacement` gives none. */
export async function placeImages(pdf: string, page: number): Promise<PlacedImage[] | undefined> {
  const doc = await parseForPlacement(pdf);
  return doc && placeImagesIn(doc, page);
}

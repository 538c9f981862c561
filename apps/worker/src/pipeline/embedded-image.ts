import { constants, crc32, inflateSync } from 'node:zlib';
import { PDFArray, PDFDict, PDFName, PDFNumber, PDFRawStream, type PDFDocument, type PDFObject } from 'pdf-lib';
import { MAX_IMAGE_PIXELS } from '@pagefleet/shared';
import { loadSharp, pixelsOf, toGray } from './gray.js';
import type { GrayImage } from './pgm.js';

/**
 * Samples the worker decodes itself: JPEG (DCTDecode), or Flate-compressed, plain or under PNG
 * predictors, in gray or RGB; `data` as the file stores it.
 */
export interface Samples {
  filter: 'jpeg' | 'png-rows' | 'raw';
  width: number;
  height: number;
  channels: 1 | 3;
  bitsPerComponent: number;
  data: Buffer;
}

/** An image XObject whose pixels the worker decodes itself, with its soft mask (its alpha) if it has one. */
export type EmbeddedImage = Samples & { softMask?: Samples };

const name = (object: PDFObject | undefined) => (object instanceof PDFName ? object.decodeText() : undefined);
const int = (object: PDFObject | undefined) => (object instanceof PDFNumber ? object.asNumber() : undefined);

/** Components of a colour space the worker decodes (gray or RGB, device or ICC-based), else undefined. */
function channelsOf(doc: PDFDocument, space: PDFObject | undefined): 1 | 3 | undefined {
  const resolved = space && doc.context.lookup(space);
  const device = name(resolved);
  if (device === 'DeviceGray') return 1;
  if (device === 'DeviceRGB') return 3;
  if (!(resolved instanceof PDFArray) || name(resolved.get(0)) !== 'ICCBased') return undefined;
  const profile = doc.context.lookup(resolved.get(1));
  const components =
    profile instanceof PDFRawStream ? int(doc.context.lookup(profile.dict.get(PDFName.of('N')))) : undefined;
  return components === 1 || components === 3 ? components : undefined;
}

/** The samples of an image stream, where the worker decodes them (see `embeddedImage`). */
function samplesOf(doc: PDFDocument, stream: PDFRawStream): Samples | undefined {
  const dict = stream.dict;
  const get = (key: string) => doc.context.lookup(dict.get(PDFName.of(key)));
  const width = int(get('Width'));
  const height = int(get('Height'));
  const channels = channelsOf(doc, dict.get(PDFName.of('ColorSpace')));
  const bitsPerComponent = int(get('BitsPerComponent')) ?? 8;
  if (!width || !height || !channels || width * height > MAX_IMAGE_PIXELS) return undefined;
  // A Decode array other than the default ([0 1] a component) maps samples to other values.
  const decode = get('Decode');
  const defaultDecode =
    decode instanceof PDFArray &&
    decode.size() === 2 * channels &&
    decode.asArray().every((value, k) => int(doc.context.lookup(value)) === k % 2);
  if (decode && !defaultDecode) return undefined;
  const filters = get('Filter');
  const filterList = filters instanceof PDFArray ? filters.asArray() : [filters];
  if (filterList.length !== 1) return undefined;
  const filter = name(doc.context.lookup(filterList[0]));
  const data = Buffer.from(stream.getContents());
  if (filter === 'DCTDecode') {
    return bitsPerComponent === 8 ? { filter: 'jpeg', width, height, channels, bitsPerComponent, data } : undefined;
  }
  if (filter !== 'FlateDecode') return undefined;
  const parmsObject = get('DecodeParms');
  const parms = parmsObject instanceof PDFArray ? doc.context.lookup(parmsObject.get(0)) : parmsObject;
  const parm = (key: string) =>
    parms instanceof PDFDict ? int(doc.context.lookup(parms.get(PDFName.of(key)))) : undefined;
  const predictor = parm('Predictor') ?? 1;
  if (predictor === 1)
    return bitsPerComponent === 8 ? { filter: 'raw', width, height, channels, bitsPerComponent, data } : undefined;
  // PNG predictors: the rows are a PNG's, if they are the image's own shape.
  const rowsMatch =
    (parm('Colors') ?? 1) === channels &&
    (parm('BitsPerComponent') ?? 8) === bitsPerComponent &&
    (parm('Columns') ?? 1) === width;
  const pngDepth = channels === 1 ? [1, 2, 4, 8] : [8];
  return predictor >= 10 && rowsMatch && pngDepth.includes(bitsPerComponent)
    ? { filter: 'png-rows', width, height, channels, bitsPerComponent, data }
    : undefined;
}

/**
 * An image stream the worker can decode as a renderer shows it on a white page, or undefined
 * where only a renderer can: stencil masks and colour-key masks, Decode arrays other than the default, indexed, CMYK,
 * Lab and other colour spaces, filters other than one DCTDecode or FlateDecode (a Flate stream
 * under TIFF's predictor too), more pixels than sharp is let read. A soft mask (the alpha of a
 * PNG with transparency, as office suites export charts) is decoded under the same rules, unless
 * it is pre-multiplied (/Matte).
 */
export function embeddedImage(doc: PDFDocument, stream: PDFRawStream): EmbeddedImage | undefined {
  const get = (key: string) => doc.context.lookup(stream.dict.get(PDFName.of(key)));
  if (get('ImageMask') || get('Mask')) return undefined;
  const samples = samplesOf(doc, stream);
  const mask = get('SMask');
  if (!samples || mask === undefined) return samples;
  if (!(mask instanceof PDFRawStream) || mask.dict.has(PDFName.of('Matte'))) return undefined;
  const softMask = samplesOf(doc, mask);
  return softMask?.channels === 1 ? { ...samples, softMask } : undefined;
}

function chunk(type: string, body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/** Flate under PNG predictors is a PNG's image data: the image as a PNG file, for sharp to read. */
function asPng(samples: Samples): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(samples.width, 0);
  header.writeUInt32BE(samples.height, 4);
  header[8] = samples.bitsPerComponent;
  header[9] = samples.channels === 1 ? 0 : 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', samples.data),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * Flate samples inflated. A stream whose end is cut short (no final block or checksum, as some
 * producers write them) is read as far as it goes, as renderers read it; samples short of the
 * image's size are not decoded here.
 */
function rawSamples(samples: Samples): Buffer {
  const size = samples.width * samples.height * samples.channels;
  const data = inflateSync(samples.data, { maxOutputLength: size, finishFlush: constants.Z_SYNC_FLUSH });
  if (data.length < size) throw new Error(`image samples end at ${data.length} of ${size} bytes`);
  return data;
}

/** Samples in gray at `size`, turned as drawn. */
async function grayOf(
  samples: Samples,
  size: { width: number; height: number },
  drawn: { flip: boolean; flop: boolean },
): Promise<GrayImage> {
  const sharp = await loadSharp();
  const options = { limitInputPixels: MAX_IMAGE_PIXELS };
  const pipeline =
    samples.filter === 'jpeg'
      ? sharp(samples.data, options)
      : samples.filter === 'png-rows'
        ? sharp(asPng(samples), options)
        : sharp(rawSamples(samples), {
            ...options,
            raw: { width: samples.width, height: samples.height, channels: samples.channels },
          });
  return toGray(pipeline.flip(drawn.flip).flop(drawn.flop).resize(size.width, size.height, { fit: 'fill' }));
}

/** An image decoded: its gray pixels, and its alpha where it has a soft mask. */
export interface DecodedImage {
  gray: GrayImage;
  /** One byte a pixel, 255 opaque; none where the image is opaque throughout. */
  alpha?: Buffer;
}

/**
 * The image in gray at `width` × `height` (the size it is drawn at, in the page's pixels), turned
 * as it is drawn (`flip` where upside down, `flop` where mirrored), with its soft mask as alpha.
 */
export async function decodeImage(
  image: EmbeddedImage,
  size: { width: number; height: number },
  drawn: { flip: boolean; flop: boolean },
): Promise<DecodedImage> {
  const gray = await grayOf(image, size, drawn);
  return image.softMask ? { gray, alpha: pixelsOf(await grayOf(image.softMask, size, drawn)) } : { gray };
}

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { degrees, PDFDocument, PDFName, type PDFPage, type PDFRef } from 'pdf-lib';
import sharp from 'sharp';
import { decodeImage } from './embedded-image.js';
import { imageRegions, layImage, whiteImage } from './hybrid.js';
import { placeImages, type PlacedRect } from './image-placement.js';
import { pixelsOf } from './gray.js';
import { renderRegion } from './rasterize.js';

// 144 DPI: 2 pixels a point, so images placed on whole points cover whole pixels.
const DPI = 144;
const [WIDTH, HEIGHT] = [120, 80];

/** Not symmetric either way: dark top band, a gradient left to right, a dark square bottom left. */
function pattern(channels: 1 | 3): Buffer {
  const pixels = Buffer.alloc(WIDTH * HEIGHT * channels);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const dark = y < 12 || (x < 30 && y > 50);
      const value = dark ? 20 : 90 + Math.round((x / WIDTH) * 150);
      for (let c = 0; c < channels; c++)
        pixels[(y * WIDTH + x) * channels + c] = c === 1 ? Math.min(255, value + 10) : value;
    }
  }
  return pixels;
}

/** Rows under PNG's predictors, each row's filter in turn None, Sub, Up: what a PNG's IDAT holds. */
function pngRows(pixels: Buffer, channels: number): Buffer {
  const stride = WIDTH * channels;
  const rows: Buffer[] = [];
  for (let y = 0; y < HEIGHT; y++) {
    const row = pixels.subarray(y * stride, (y + 1) * stride);
    const above = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : Buffer.alloc(stride);
    const type = y % 3;
    const out = Buffer.alloc(stride + 1);
    out[0] = type;
    for (let i = 0; i < stride; i++) {
      const left = i >= channels ? (row[i - channels] as number) : 0;
      const predicted = type === 0 ? 0 : type === 1 ? left : (above[i] as number);
      out[i + 1] = ((row[i] as number) - predicted + 256) & 0xff;
    }
    rows.push(out);
  }
  return Buffer.concat(rows);
}

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-embedded-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Draw = (page: PDFPage, name: string) => string;
const upright: Draw = (_page, name) => `q ${WIDTH} 0 0 ${HEIGHT} 100 300 cm /${name} Do Q`;

/** A one-page PDF drawing `image` as `draw` says; its placements on the page. */
async function placedOn(image: (doc: PDFDocument) => Promise<PDFRef> | PDFRef, draw: Draw = upright, turn = 0) {
  const doc = await PDFDocument.create();
  const page = doc.addPage([400, 500]);
  page.node.setXObject(PDFName.of('Im'), await image(doc));
  page.node.addContentStream(doc.context.register(doc.context.stream(draw(page, 'Im'))));
  page.setRotation(degrees(turn));
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.pdf`);
  await writeFile(file, await doc.save());
  const placed = await placeImages(file, 1);
  assert.equal(placed?.length, 1);
  return { file, placed: placed?.[0] as NonNullable<typeof placed>[number] };
}

/** Mean absolute difference between the image decoded here and pdftoppm's render of its place. */
async function differenceFromRender({ file, placed }: Awaited<ReturnType<typeof placedOn>>) {
  assert.ok(placed.source, 'decodable here');
  const scale = DPI / 72;
  const region = {
    x: Math.round(placed.x0 * scale),
    y: Math.round(placed.y0 * scale),
    width: Math.round((placed.x1 - placed.x0) * scale),
    height: Math.round((placed.y1 - placed.y0) * scale),
  };
  const { image, ...drawn } = placed.source;
  const canvas = whiteImage(region);
  layImage(canvas, region, region, await decodeImage(image, region, drawn));
  const decoded = pixelsOf(canvas);
  const rendered = pixelsOf(await renderRegion(file, 1, DPI, region, new AbortController().signal));
  assert.equal(decoded.length, rendered.length);
  let sum = 0;
  for (let i = 0; i < decoded.length; i++) sum += Math.abs((decoded[i] as number) - (rendered[i] as number));
  return sum / decoded.length;
}

const flate = (doc: PDFDocument, data: Buffer, dict: Record<string, unknown>) =>
  doc.context.register(
    doc.context.flateStream(data, {
      Type: 'XObject',
      Subtype: 'Image',
      Width: WIDTH,
      Height: HEIGHT,
      BitsPerComponent: 8,
      ...dict,
    }),
  );

test('images decoded here show what pdftoppm renders: Flate plain and under PNG predictors, JPEG, gray and RGB', async () => {
  const cases: Array<[string, (doc: PDFDocument) => Promise<PDFRef> | PDFRef]> = [
    ['Flate, RGB', (doc) => flate(doc, pattern(3), { ColorSpace: 'DeviceRGB' })],
    ['Flate, gray', (doc) => flate(doc, pattern(1), { ColorSpace: 'DeviceGray' })],
    [
      'Flate under PNG predictors, gray',
      (doc) =>
        doc.context.register(
          doc.context.stream(deflateSync(pngRows(pattern(1), 1)), {
            Type: 'XObject',
            Subtype: 'Image',
            Width: WIDTH,
            Height: HEIGHT,
            BitsPerComponent: 8,
            ColorSpace: 'DeviceGray',
            Filter: 'FlateDecode',
            DecodeParms: { Predictor: 15, Colors: 1, Columns: WIDTH },
          }),
        ),
    ],
    [
      'JPEG, RGB, ICC-based colour space',
      async (doc) => {
        const jpeg = await sharp(pattern(3), { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
          .jpeg({ quality: 95 })
          .toBuffer();
        const profile = doc.context.register(doc.context.flateStream(Buffer.alloc(0), { N: 3 }));
        return doc.context.register(
          doc.context.stream(jpeg, {
            Type: 'XObject',
            Subtype: 'Image',
            Width: WIDTH,
            Height: HEIGHT,
            BitsPerComponent: 8,
            ColorSpace: ['ICCBased', profile],
            Filter: 'DCTDecode',
          }),
        );
      },
    ],
    [
      'Flate, RGB, under a soft mask fading it out to the right',
      (doc) => {
        const alpha = Buffer.alloc(WIDTH * HEIGHT);
        for (let i = 0; i < alpha.length; i++) alpha[i] = 255 - Math.round(((i % WIDTH) / WIDTH) * 255);
        return flate(doc, pattern(3), {
          ColorSpace: 'DeviceRGB',
          SMask: flate(doc, alpha, { ColorSpace: 'DeviceGray' }),
        });
      },
    ],
    [
      'a PNG through pdf-lib',
      async (doc) =>
        (
          await doc.embedPng(
            await sharp(pattern(3), { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
              .png()
              .toBuffer(),
          )
        ).ref,
    ],
  ];
  for (const [name, image] of cases) {
    const difference = await differenceFromRender(await placedOn(image));
    assert.ok(difference < 6, `${name}: ${difference.toFixed(1)} levels from the render`);
  }
});

test('an image drawn upside down or mirrored is decoded as drawn; decoded the other way it would not match', async () => {
  const image = (doc: PDFDocument) => flate(doc, pattern(1), { ColorSpace: 'DeviceGray' });
  const flipped = await placedOn(
    image,
    (_page, name) => `q ${WIDTH} 0 0 -${HEIGHT} 100 ${300 + HEIGHT} cm /${name} Do Q`,
  );
  assert.deepEqual([flipped.placed.source?.flip, flipped.placed.source?.flop], [true, false]);
  assert.ok((await differenceFromRender(flipped)) < 6);
  const mirrored = await placedOn(
    image,
    (_page, name) => `q -${WIDTH} 0 0 ${HEIGHT} ${100 + WIDTH} 300 cm /${name} Do Q`,
  );
  assert.deepEqual([mirrored.placed.source?.flip, mirrored.placed.source?.flop], [false, true]);
  assert.ok((await differenceFromRender(mirrored)) < 6);
  const wrong = { ...flipped, placed: { ...flipped.placed, source: { ...flipped.placed.source!, flip: false } } };
  assert.ok((await differenceFromRender(wrong)) > 20, 'the check tells an upside-down image from an upright one');
});

test('overlapping images are laid over each other in the order drawn, through their soft masks, as rendered', async () => {
  const doc = await PDFDocument.create();
  const page = doc.addPage([400, 500]);
  const under = flate(doc, pattern(3), { ColorSpace: 'DeviceRGB' });
  // Over it, shifted by a third: opaque on the left, clear on the right.
  const alpha = Buffer.alloc(WIDTH * HEIGHT);
  for (let i = 0; i < alpha.length; i++) alpha[i] = i % WIDTH < WIDTH / 2 ? 255 : 0;
  const dark = Buffer.alloc(WIDTH * HEIGHT, 40);
  const over = flate(doc, dark, { ColorSpace: 'DeviceGray', SMask: flate(doc, alpha, { ColorSpace: 'DeviceGray' }) });
  page.node.setXObject(PDFName.of('A'), under);
  page.node.setXObject(PDFName.of('B'), over);
  const draw = `q ${WIDTH} 0 0 ${HEIGHT} 100 300 cm /A Do Q q ${WIDTH} 0 0 ${HEIGHT} 140 320 cm /B Do Q`;
  page.node.addContentStream(doc.context.register(doc.context.stream(draw)));
  const file = path.join(dir, 'overlap.pdf');
  await writeFile(file, await doc.save());
  const [region] = imageRegions((await placeImages(file, 1)) ?? []);
  assert.equal(region?.images?.length, 2);
  const scale = DPI / 72;
  const pixels = (rect: PlacedRect) => ({
    x: Math.round(rect.x0 * scale),
    y: Math.round(rect.y0 * scale),
    width: Math.round((rect.x1 - rect.x0) * scale),
    height: Math.round((rect.y1 - rect.y0) * scale),
  });
  const union = pixels(region);
  const layers = async (images: NonNullable<NonNullable<typeof region>['images']>) => {
    const canvas = whiteImage(union);
    for (const image of images) {
      const { image: embedded, ...drawn } = image.source as NonNullable<typeof image.source>;
      layImage(canvas, union, pixels(image), await decodeImage(embedded, pixels(image), drawn));
    }
    return pixelsOf(canvas);
  };
  const rendered = pixelsOf(await renderRegion(file, 1, DPI, union, new AbortController().signal));
  const difference = (a: Buffer) =>
    a.reduce((sum, value, i) => sum + Math.abs(value - (rendered[i] as number)), 0) / a.length;
  assert.ok(difference(await layers(region?.images ?? [])) < 6);
  assert.ok(difference(await layers([...(region?.images ?? [])].reverse())) > 10, 'the other order would not match');
});

test('images only a renderer shows as drawn are left to it', async () => {
  const gray = { ColorSpace: 'DeviceGray' };
  const cases: Array<[string, Awaited<ReturnType<typeof placedOn>>]> = [
    [
      'a pre-multiplied soft mask',
      await placedOn((doc) =>
        flate(doc, pattern(1), { ...gray, SMask: flate(doc, pattern(1), { ...gray, Matte: [0] }) }),
      ),
    ],
    [
      'a stencil mask',
      await placedOn((doc) => flate(doc, Buffer.alloc(WIDTH * HEIGHT), { ImageMask: true, BitsPerComponent: 1 })),
    ],
    ['a Decode array', await placedOn((doc) => flate(doc, pattern(1), { ...gray, Decode: [1, 0] }))],
    ['CMYK', await placedOn((doc) => flate(doc, Buffer.alloc(WIDTH * HEIGHT * 4), { ColorSpace: 'DeviceCMYK' }))],
    [
      'an indexed colour space',
      await placedOn((doc) =>
        flate(doc, pattern(1), {
          ColorSpace: ['Indexed', 'DeviceGray', 255, doc.context.obj(Buffer.alloc(256).toString('latin1'))],
        }),
      ),
    ],
    ['a turned page', await placedOn((doc) => flate(doc, pattern(1), gray), upright, 90)],
    [
      'drawn turned',
      await placedOn(
        (doc) => flate(doc, pattern(1), gray),
        (_page, name) => `q 0 ${HEIGHT} -${WIDTH} 0 200 300 cm /${name} Do Q`,
      ),
    ],
    [
      'partly off the page',
      await placedOn(
        (doc) => flate(doc, pattern(1), gray),
        (_page, name) => `q ${WIDTH} 0 0 ${HEIGHT} 350 300 cm /${name} Do Q`,
      ),
    ],
  ];
  for (const [name, { placed }] of cases) assert.equal(placed.source, undefined, name);
});

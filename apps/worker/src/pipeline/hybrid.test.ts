import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WordResult } from '@pagefleet/shared';
import { imageRegions, keepRegions, mergeReadings, readingsByRegion, unionOf } from './hybrid.js';
import { encodePgm } from './pgm.js';

const word = (text: string, x0: number, y0: number, x1: number, y1: number, confidence = 100): WordResult => ({
  text,
  confidence,
  bbox: { x0, y0, x1, y1 },
});

test('image regions: images too small for a line of text are left out, overlapping ones merged with their images in drawing order', () => {
  const [a, b, c] = [
    { x0: 100, y0: 100, x1: 300, y1: 200 },
    { x0: 250, y0: 150, x1: 400, y1: 260 },
    { x0: 50, y0: 600, x1: 200, y1: 700 },
  ];
  assert.deepEqual(imageRegions([{ x0: 10, y0: 10, x1: 18, y1: 18 }, a, { x0: 500, y0: 10, x1: 900, y1: 14 }, c, b]), [
    { x0: 100, y0: 100, x1: 400, y1: 260, images: [a, b] },
    { x0: 50, y0: 600, x1: 200, y1: 700, images: [c] },
  ]);
  // A chain of overlaps merges into one region, whatever the order; its images stay in drawing order.
  const chain = [
    { x0: 0, y0: 0, x1: 20, y1: 20 },
    { x0: 100, y0: 0, x1: 120, y1: 20 },
    { x0: 15, y0: 0, x1: 105, y1: 20 },
  ];
  assert.deepEqual(imageRegions(chain), [{ x0: 0, y0: 0, x1: 120, y1: 20, images: chain }]);
});

test("a hybrid page: OCR's words the layer has are dropped, the rest go before the layer block below them", () => {
  const layer = {
    text: 'Intro line one\n\nFigure 1: caption\n',
    blocks: [
      [[word('Intro', 10, 10, 60, 20), word('line', 70, 10, 100, 20), word('one', 110, 10, 140, 20)]],
      [[word('Figure', 10, 300, 60, 310), word('1:', 65, 300, 80, 310), word('caption', 85, 300, 150, 310)]],
    ],
  };
  const reading = {
    region: { x0: 10, y0: 50, x1: 300, y1: 290 },
    blocks: [
      [[word('Sales', 20, 60, 80, 80, 93), word('2026', 90, 60, 130, 80, 91)]],
      // The caption's first word, drawn over the image's edge: the layer's already.
      [[word('Figure', 11, 299, 61, 311, 88)]],
    ],
  };
  const page = mergeReadings(layer, [reading]);
  assert.equal(page.text, 'Intro line one\n\nSales 2026\n\nFigure 1: caption\n');
  assert.deepEqual(
    page.words.map((w) => `${w.text}:${w.origin}`),
    ['Intro:layer', 'line:layer', 'one:layer', 'Sales:ocr', '2026:ocr', 'Figure:layer', '1::layer', 'caption:layer'],
  );
  assert.deepEqual(
    page.ocrWords.map((w) => w.text),
    ['Sales', '2026'],
  );
  assert.equal(page.blocks.length, 3);
});

test('a region below every block is the last paragraph; a picture without text leaves the layer as it is', () => {
  const layer = { text: 'Only line\n', blocks: [[[word('Only', 10, 10, 50, 20), word('line', 60, 10, 90, 20)]]] };
  const low = { region: { x0: 0, y0: 100, x1: 200, y1: 200 }, blocks: [[[word('Label', 10, 120, 60, 140, 90)]]] };
  assert.equal(mergeReadings(layer, [low]).text, 'Only line\n\nLabel\n');
  const empty = mergeReadings(layer, [{ region: low.region, blocks: [[[word(' ', 10, 120, 60, 140, 10)]]] }]);
  assert.equal(empty.text, layer.text);
  assert.equal(empty.ocrWords.length, 0);
  assert.ok(empty.words.every((w) => w.origin === 'layer'));
});

test('a region beside a column goes before the first block of its own column below it', () => {
  // Two columns: poppler reads the left one, then the right one.
  const layer = {
    text: 'Left top\n\nLeft bottom\n\nRight top\n\nRight bottom\n',
    blocks: [
      [[word('Left', 10, 10, 40, 20), word('top', 45, 10, 70, 20)]],
      [[word('Left', 10, 400, 40, 410), word('bottom', 45, 400, 90, 410)]],
      [[word('Right', 310, 10, 350, 20), word('top', 355, 10, 380, 20)]],
      [[word('Right', 310, 400, 350, 410), word('bottom', 355, 400, 400, 410)]],
    ],
  };
  const right = { region: { x0: 300, y0: 100, x1: 500, y1: 300 }, blocks: [[[word('Chart', 320, 150, 380, 170, 95)]]] };
  assert.equal(mergeReadings(layer, [right]).text, 'Left top\n\nLeft bottom\n\nRight top\n\nChart\n\nRight bottom\n');
});

test('several regions are read in one pass: the render of their union, white between them, and each block given back to its region', () => {
  const regions = [
    { x: 10, y: 10, width: 2, height: 2 },
    { x: 14, y: 11, width: 1, height: 3 },
  ];
  const union = unionOf(regions);
  assert.deepEqual(union, { x: 10, y: 10, width: 5, height: 4 });
  const render = encodePgm(Buffer.alloc(union.width * union.height, 0), union.width, union.height);
  const kept = keepRegions(render, union, regions);
  const rows = Array.from({ length: 4 }, (_, y) =>
    [...kept.pgm.subarray(kept.pgm.length - 20 + y * 5, kept.pgm.length - 20 + y * 5 + 5)]
      .map((v) => (v ? '.' : '#'))
      .join(''),
  );
  assert.deepEqual(rows, ['##...', '##..#', '....#', '....#']);

  const blocks = [[[word('left', 10, 10, 12, 12)]], [[word('right', 14, 11, 15, 14)]]];
  const readings = readingsByRegion(blocks, regions);
  assert.deepEqual(
    readings.map((reading) => [reading.region.x0, reading.blocks.flat(2).map((w) => w.text)]),
    [
      [10, ['left']],
      [14, ['right']],
    ],
  );
});

test('a page drawing more images than can be merged one by one is read as one region holding them all', () => {
  const tiles = Array.from({ length: 300_000 }, (_, i) => ({
    x0: (i % 500) * 12,
    y0: Math.floor(i / 500) * 12,
    x1: (i % 500) * 12 + 11,
    y1: Math.floor(i / 500) * 12 + 11,
  }));
  assert.deepEqual(imageRegions(tiles), [{ x0: 0, y0: 0, x1: 499 * 12 + 11, y1: 599 * 12 + 11 }]);
});

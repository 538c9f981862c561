import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layoutFromTsv, recycleReason } from './ocr.js';

test('a thread is recycled past its heap limit first, then at its page limit', () => {
  const limits = { maxPages: 3, maxHeapBytes: 100 };
  assert.equal(recycleReason({ pages: 1, heapBytes: 100 }, limits), undefined);
  assert.equal(recycleReason({ pages: 1, heapBytes: 101 }, limits), 'heap');
  assert.equal(recycleReason({ pages: 3, heapBytes: 50 }, limits), 'pages');
  assert.equal(recycleReason({ pages: 3, heapBytes: 500 }, limits), 'heap');
});

test("the layout comes from the TSV rows of level 5: Tesseract's paragraphs as blocks, its lines, its words", () => {
  const tsv = [
    '1\t1\t0\t0\t0\t0\t0\t0\t2550\t3300\t-1\t',
    '4\t1\t1\t1\t1\t0\t150\t140\t900\t50\t-1\t',
    '5\t1\t1\t1\t1\t1\t150\t140\t210\t50\t96.5\tInvoice',
    '5\t1\t1\t1\t1\t2\t380\t141\t120\t49\t91.25\t2041',
    '5\t1\t1\t1\t1\t3\t520\t141\t10\t49\t95\t ',
    '5\t1\t1\t1\t2\t1\t150\t200\t100\t50\t90\tDue',
    '5\t1\t1\t2\t1\t1\t150\t400\t100\t50\t80\tTotal',
  ].join('\n');
  const word = (text: string, confidence: number, x0: number, y0: number, x1: number, y1: number) => ({
    text,
    confidence,
    bbox: { x0, y0, x1, y1 },
  });
  assert.deepEqual(layoutFromTsv(tsv), [
    [
      [word('Invoice', 96.5, 150, 140, 360, 190), word('2041', 91.25, 380, 141, 500, 190)],
      [word('Due', 90, 150, 200, 250, 250)],
    ],
    [[word('Total', 80, 150, 400, 250, 450)]],
  ]);
  assert.deepEqual(layoutFromTsv(''), []);
});

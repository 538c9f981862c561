import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recycleReason, wordsFromTsv } from './ocr.js';

test('a thread is recycled past its heap limit first, then at its page limit', () => {
  const limits = { maxPages: 3, maxHeapBytes: 100 };
  assert.equal(recycleReason({ pages: 1, heapBytes: 100 }, limits), undefined);
  assert.equal(recycleReason({ pages: 1, heapBytes: 101 }, limits), 'heap');
  assert.equal(recycleReason({ pages: 3, heapBytes: 50 }, limits), 'pages');
  assert.equal(recycleReason({ pages: 3, heapBytes: 500 }, limits), 'heap');
});

test('words come from the TSV rows of level 5, with their boxes and confidence', () => {
  const tsv = [
    '1\t1\t0\t0\t0\t0\t0\t0\t2550\t3300\t-1\t',
    '4\t1\t1\t1\t1\t0\t150\t140\t900\t50\t-1\t',
    '5\t1\t1\t1\t1\t1\t150\t140\t210\t50\t96.5\tInvoice',
    '5\t1\t1\t1\t1\t2\t380\t141\t120\t49\t91.25\t2041',
    '5\t1\t1\t1\t1\t3\t520\t141\t10\t49\t95\t ',
  ].join('\n');
  assert.deepEqual(wordsFromTsv(tsv), [
    { text: 'Invoice', confidence: 96.5, bbox: { x0: 150, y0: 140, x1: 360, y1: 190 } },
    { text: '2041', confidence: 91.25, bbox: { x0: 380, y0: 141, x1: 500, y1: 190 } },
  ]);
  assert.deepEqual(wordsFromTsv(''), []);
});

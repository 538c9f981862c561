import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recycleReason } from './ocr.js';

test('a thread is recycled past its heap limit first, then at its page limit', () => {
  const limits = { maxPages: 3, maxHeapBytes: 100 };
  assert.equal(recycleReason({ pages: 1, heapBytes: 100 }, limits), undefined);
  assert.equal(recycleReason({ pages: 1, heapBytes: 101 }, limits), 'heap');
  assert.equal(recycleReason({ pages: 3, heapBytes: 50 }, limits), 'pages');
  assert.equal(recycleReason({ pages: 3, heapBytes: 500 }, limits), 'heap');
});

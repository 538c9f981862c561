import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandPages, formatPages, PageRangeError, selectPages } from './page-ranges.js';

test('every form of a selection, over a 12-page document', () => {
  assert.deepEqual(selectPages(undefined, 3), [1, 2, 3]);
  assert.deepEqual(selectPages('', 3), [1, 2, 3]);
  assert.deepEqual(selectPages('1-3,7,10-', 12), [1, 2, 3, 7, 10, 11, 12]);
  assert.deepEqual(selectPages(' 7 , 2-3,3 ', 12), [2, 3, 7]);
  assert.deepEqual(selectPages('12-', 12), [12]);
  assert.deepEqual(selectPages('5-5', 12), [5]);
});

test('bad syntax and pages past the end are told apart', () => {
  for (const spec of ['a', '1-2-3', '-3', '0', '0-2', '5-3', '1,,2', '1;2', '2.5']) {
    assert.throws(
      () => selectPages(spec, 12),
      (err: unknown) => err instanceof PageRangeError && err.reason === 'syntax',
      spec,
    );
  }
  for (const spec of ['13', '10-13', '13-']) {
    assert.throws(
      () => selectPages(spec, 12),
      (err: unknown) =>
        err instanceof PageRangeError && err.reason === 'out_of_range' && /last page \(12\)/.test(err.message),
      spec,
    );
  }
});

test('the canonical form round-trips', () => {
  for (const pages of [[1], [1, 2, 3, 7, 10, 11, 12], [2, 4, 6], [5, 6]]) {
    assert.deepEqual(expandPages(formatPages(pages)), pages);
  }
  assert.equal(formatPages([1, 2, 3, 7, 10, 11, 12]), '1-3,7,10-12');
});

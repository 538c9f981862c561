import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PageTimeoutError } from '../pipeline/deadline.js';
import { failureFromMessage, failureOf } from '@pagefleet/shared';
import { shrinkAfterDeaths } from './page.js';

test('each death of its worker halves a page DPI and quarters its pixel cap, within floors', () => {
  assert.deepEqual(shrinkAfterDeaths(300, 40_000_000, 0), { dpi: 300, maxPixels: 40_000_000 });
  assert.deepEqual(shrinkAfterDeaths(300, 40_000_000, 1), { dpi: 150, maxPixels: 10_000_000 });
  assert.deepEqual(shrinkAfterDeaths(300, 40_000_000, 2), { dpi: 75, maxPixels: 2_500_000 });
  assert.deepEqual(shrinkAfterDeaths(300, 40_000_000, 5), { dpi: 70, maxPixels: 1_000_000 });
});

test('a failure travels as a typed value; only a stalled job is known by its message', () => {
  assert.deepEqual(failureOf(new PageTimeoutError('ocr', 1000)), {
    reason: 'timeout',
    error: 'page timed out after 1000 ms in stage ocr',
    stage: 'ocr',
  });
  assert.deepEqual(failureOf(new Error('pdftoppm exited with 1')), {
    reason: 'error',
    error: 'pdftoppm exited with 1',
  });
  assert.equal(failureFromMessage('job stalled more than allowable limit').reason, 'oom');
  // A timeout known only by its message is not guessed at.
  assert.equal(failureFromMessage('page timed out after 1000 ms in stage ocr').reason, 'error');
});

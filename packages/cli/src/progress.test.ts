import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressBar } from './progress.js';

test('the bar fills with pages ended, failed ones counted and named', () => {
  assert.equal(progressBar(0, 0, 4, 8), '[--------] 0/4 pages');
  assert.equal(progressBar(1, 1, 4, 8), '[####----] 2/4 pages (1 failed)');
  assert.equal(progressBar(4, 0, 4, 8), '[########] 4/4 pages');
  assert.equal(progressBar(3, 0, 12, 12), '[###---------]  3/12 pages');
});

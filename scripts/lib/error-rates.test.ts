import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cer, characterErrors, wordErrors } from './error-rates.js';

test('error rates count edits after normalizing whitespace and Unicode composition', () => {
  assert.equal(cer('the cat', 'the  cat\n'), 0);
  assert.equal(cer('caf\u00e9', 'cafe\u0301'), 0, 'NFC: one é either way');
  assert.deepEqual(characterErrors('kitten', 'sitting'), { errors: 3, length: 6 });
  assert.deepEqual(wordErrors('the quick brown fox', 'the quack brown'), { errors: 2, length: 4 });
  assert.equal(cer('', 'anything'), 8, 'an empty reference counts every extra character');
});

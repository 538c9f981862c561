import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnprocessableError } from '@pagefleet/shared';
import { engineFor } from './engine.js';

test('paddle is refused where its models are missing or its languages are not read; auto falls back to tesseract', () => {
  assert.equal(engineFor('tesseract', 'deu', false), 'tesseract');
  assert.equal(engineFor('paddle', 'eng', true), 'paddle');
  assert.equal(engineFor('auto', 'eng+chi_sim', true), 'auto');
  assert.equal(engineFor('auto', 'eng', false), 'tesseract');
  assert.equal(engineFor('auto', 'deu', true), 'tesseract');
  for (const [languages, installed] of [
    ['eng', false],
    ['eng+deu', true],
  ] as const) {
    assert.throws(
      () => engineFor('paddle', languages, installed),
      (err: unknown) => err instanceof UnprocessableError && err.code === 'engine_unavailable',
    );
  }
});

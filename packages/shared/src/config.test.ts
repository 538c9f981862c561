import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from './config.js';

test('defaults apply when nothing is set', () => {
  const config = loadConfig({});
  assert.equal(config.PORT, 3000);
  assert.equal(config.DEFAULT_DPI, 300);
  assert.equal(config.RASTERIZER, 'poppler');
  assert.equal(config.DATA_DIR, path.resolve('data'));
  assert.ok(config.WORKER_CONCURRENCY >= 1);
  assert.ok(Object.isFrozen(config));
});

test('values are coerced from strings and empty strings mean unset', () => {
  const config = loadConfig({ PORT: '8080', MAX_FILES: '', RASTERIZER: 'pdf2pic' });
  assert.equal(config.PORT, 8080);
  assert.equal(config.MAX_FILES, 20);
  assert.equal(config.RASTERIZER, 'pdf2pic');
});

test('a bad value is named in the error', () => {
  assert.throws(() => loadConfig({ PORT: 'eighty' }), /PORT/);
  assert.throws(() => loadConfig({ RASTERIZER: 'magick' }), /RASTERIZER/);
  assert.throws(() => loadConfig({ REDIS_URL: 'http://localhost' }), /REDIS_URL/);
  assert.throws(() => loadConfig({ WORKER_CONCURRENCY: '0' }), /WORKER_CONCURRENCY/);
});

test('DEFAULT_DPI may not exceed MAX_DPI', () => {
  assert.throws(() => loadConfig({ DEFAULT_DPI: '600', MAX_DPI: '400' }), /DEFAULT_DPI \(600\) must not exceed MAX_DPI \(400\)/);
});

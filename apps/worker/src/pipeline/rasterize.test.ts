import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clampDpi } from './rasterize.js';

test('clampDpi keeps the DPI of a page that fits', () => {
  assert.equal(clampDpi(612, 792, 300, 40_000_000), 300);
});

test('clampDpi lowers the DPI of a huge page before it is rendered', () => {
  // 2160 pt square (30 in): 9000x9000 px at 300 DPI, 81 MP.
  const dpi = clampDpi(2160, 2160, 300, 40_000_000);
  assert.ok(dpi < 300);
  assert.ok((2160 / 72) ** 2 * dpi * dpi <= 40_000_000);
  assert.ok((2160 / 72) ** 2 * (dpi + 1) ** 2 > 40_000_000);
});

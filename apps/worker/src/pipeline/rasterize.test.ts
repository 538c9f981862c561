import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { PDFDocument } from 'pdf-lib';
import { shrinkAfterDeaths } from '../processors/page.js';
import { clampDpi, popplerRasterizer } from './rasterize.js';

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

test('a retry after its worker died renders a page already held to the cap at a quarter of the pixels', async () => {
  // A 200-inch square page: far past the cap at any DPI, so the cap alone sets what is rendered.
  const doc = await PDFDocument.create();
  doc.addPage([14_400, 14_400]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-raster-'));
  const pdf = path.join(dir, 'poster.pdf');
  try {
    await writeFile(pdf, await doc.save());
    const rasterizer = popplerRasterizer();
    const never = new AbortController().signal;
    const pixels = async (deaths: number) => {
      const size = shrinkAfterDeaths(200, 4_000_000, deaths);
      const page = await rasterizer.render(pdf, 1, size, never);
      return page.width * page.height;
    };
    const first = await pixels(0);
    const second = await pixels(1);
    assert.ok(first <= 4_000_000 && first > 3_000_000, `first attempt: ${first} pixels`);
    assert.ok(Math.abs(second / first - 0.25) < 0.05, `second attempt: ${second} of ${first} pixels`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

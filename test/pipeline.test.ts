import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger, loadConfig } from '@pagefleet/shared';
import { OcrPool } from '../apps/worker/src/pipeline/ocr.js';
import { preprocess } from '../apps/worker/src/pipeline/preprocess.js';
import { createRasterizer } from '../apps/worker/src/pipeline/rasterize.js';
import { cer, pdfOf, textPage } from './support/fixtures.js';

const LINES = ['Rasterized one page at a time.', 'Nothing downloaded, nothing cached.'];
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const silent = createLogger(loadConfig({ LOG_LEVEL: 'silent' }), 'test');
const has = (command: string, args: string[]) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

describe('worker pipeline', () => {
  let dir: string;
  let pdf: string;
  let png: string;
  const ocr = new OcrPool({ slots: 1, tessdataDir: undefined, maxPages: 100, maxHeapBytes: 2 ** 30, log: silent });
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-pipeline-'));
    const page = await textPage(LINES);
    const blank = await textPage([]);
    png = path.join(dir, 'page.png');
    pdf = path.join(dir, 'doc.pdf');
    await writeFile(png, page);
    await writeFile(pdf, await pdfOf([blank, page]));
  });
  after(async () => {
    await ocr.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const kind of ['poppler', 'pdf2pic'] as const) {
    test(`the ${kind} rasterizer renders only the page asked for, gray, at the DPI asked for`, async (t) => {
      if (kind === 'pdf2pic' && !has('gm', ['version'])) {
        t.skip('GraphicsMagick (gm) is not installed');
        return;
      }
      const rasterizer = createRasterizer(kind, { maxPixels: 40_000_000, timeoutMs: 60_000 });
      const page = await rasterizer.render(pdf, 2, 300);
      assert.equal(page.dpi, 300);
      assert.ok(Math.abs(page.width - 2550) <= 1, `width ${page.width}`);
      const text = (await ocr.recognize(await preprocess({ rendered: page }, 40_000_000), 'eng')).text;
      assert.ok(cer(LINES.join('\n'), text) <= 0.05, text);
    });
  }

  test('a page larger than MAX_PAGE_PIXELS is rendered at a lower DPI, not rendered and shrunk', async () => {
    const rasterizer = createRasterizer('poppler', { maxPixels: 500_000, timeoutMs: 60_000 });
    const page = await rasterizer.render(pdf, 2, 300);
    assert.ok(page.dpi < 300);
    assert.ok(page.width * page.height <= 500_000);
  });

  test('an image above the pixel cap is downscaled, with its DPI scaled alike', async () => {
    const page = await preprocess({ image: png, index: 0 }, 500_000);
    assert.ok(page.width * page.height <= 500_000);
    assert.ok(page.width < 2550);
    assert.equal(page.dpi, Math.round((300 * page.width) / 2550));
  });

  test('a tesseract thread is replaced after OCR_MAX_PAGES pages, or once its heap passes OCR_MAX_HEAP', async () => {
    const page = await preprocess({ image: png, index: 0 }, 40_000_000);
    for (const [limits, reason] of [
      [{ maxPages: 2, maxHeapBytes: 2 ** 30 }, 'pages'],
      [{ maxPages: 100, maxHeapBytes: 10 * 2 ** 20 }, 'heap'],
    ] as const) {
      const pool = new OcrPool({ slots: 1, tessdataDir: undefined, ...limits, log: silent });
      try {
        for (let i = 0; i < 3; i++) assert.ok(cer(LINES.join('\n'), (await pool.recognize(page, 'eng')).text) <= 0.05);
        // pages: replaced after pages 2 (then a fresh thread does page 3). heap: after every page.
        assert.deepEqual(pool.recycled, reason === 'pages' ? { pages: 1, heap: 0 } : { pages: 0, heap: 3 });
      } finally {
        await pool.close();
      }
    }
  });

  test('OCR works with the network unreachable', async (t) => {
    if (!has('unshare', ['-n', 'true'])) {
      t.skip('cannot create a network namespace here (unshare -n needs root or user namespaces)');
      return;
    }
    const run = spawnSync('unshare', ['-n', process.execPath, '--import', 'tsx', 'test/support/ocr-file.ts', png], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.ok(cer(LINES.join('\n'), run.stdout) <= 0.05, run.stdout);
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { createLogger, loadConfig, OPEN_TENANT, type PageJob } from '@pagefleet/shared';
import { PageTimeoutError } from '../apps/worker/src/pipeline/deadline.js';
import { OcrPool } from '../apps/worker/src/pipeline/ocr.js';
import { LayerWindows } from '../apps/worker/src/pipeline/layer-windows.js';
import { ParsedPdfs } from '../apps/worker/src/pipeline/parsed-pdfs.js';
import { recognizePage } from '../apps/worker/src/pipeline/page.js';
import { preprocess } from '../apps/worker/src/pipeline/preprocess.js';
import { createRasterizer } from '../apps/worker/src/pipeline/rasterize.js';
import { PDFDocument, PDFName, StandardFonts } from 'pdf-lib';
import { cer, pdfOf, slowPdf, textPage, wordLines } from '../scripts/lib/fixtures.js';

const LINES = ['Rasterized one page at a time.', 'Nothing downloaded, nothing cached.'];
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const silent = createLogger(loadConfig({ LOG_LEVEL: 'silent' }), 'test');
/** A signal that never aborts: no deadline. */
const never = new AbortController().signal;
const has = (command: string, args: string[]) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

describe('worker pipeline', () => {
  let dir: string;
  let pdf: string;
  let png: string;
  const ocr = new OcrPool({
    slots: 1,
    tessdataDir: undefined,
    model: 'fast',
    deskew: true,
    maxPages: 100,
    maxHeapBytes: 2 ** 30,
    log: silent,
  });
  /** What recognizePage reads a page with here: poppler, one window of layers, the pool's thread. */
  const pipelineDeps = (timeoutMs: number) => ({
    rasterizer: createRasterizer('poppler'),
    layers: new LayerWindows(1, 1),
    pdfs: new ParsedPdfs(),
    engines: { tesseract: ocr },
    orientation: undefined,
    maxPixels: 40_000_000,
    timeoutMs,
  });
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
      const rasterizer = createRasterizer(kind);
      const page = await rasterizer.render(pdf, 2, { dpi: 300, maxPixels: 40_000_000 }, never);
      assert.equal(page.dpi, 300);
      assert.ok(Math.abs(page.width - 2550) <= 1, `width ${page.width}`);
      const text = (await ocr.recognize(await preprocess({ rendered: page }, 40_000_000), 'eng', never)).text;
      assert.ok(cer(LINES.join('\n'), text) <= 0.05, text);
    });
  }

  test('pdf2pic runs Ghostscript only with -dSAFER', (t) => {
    const list = spawnSync('gm', ['convert', '-list', 'delegates'], { encoding: 'utf8' });
    if (list.status !== 0) {
      t.skip('GraphicsMagick (gm) is not installed');
      return;
    }
    const ghostscript = list.stdout.split('\n').filter((line) => /"gs"/.test(line));
    assert.ok(ghostscript.length > 0, list.stdout);
    for (const line of ghostscript) assert.match(line, /-dSAFER/);
  });

  test('a page larger than MAX_PAGE_PIXELS is rendered at a lower DPI, not rendered and shrunk', async () => {
    const rasterizer = createRasterizer('poppler');
    const page = await rasterizer.render(pdf, 2, { dpi: 300, maxPixels: 500_000 }, never);
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
      const recycled: string[] = [];
      const pool = new OcrPool({
        slots: 1,
        tessdataDir: undefined,
        model: 'fast',
        deskew: true,
        ...limits,
        log: silent,
        onRecycle: (why) => recycled.push(why),
      });
      try {
        for (let i = 0; i < 3; i++)
          assert.ok(cer(LINES.join('\n'), (await pool.recognize(page, 'eng', never)).text) <= 0.05);
        // pages: replaced after pages 2 (then a fresh thread does page 3). heap: after every page.
        assert.deepEqual(recycled, reason === 'pages' ? ['pages'] : ['heap', 'heap', 'heap']);
      } finally {
        await pool.close();
      }
    }
  });

  test('past PAGE_TIMEOUT_MS the rasterizer child is killed and the attempt says it timed out rasterizing', async () => {
    const slow = path.join(dir, 'slow.pdf');
    await writeFile(slow, slowPdf());
    const deps = pipelineDeps(1000);
    const job: PageJob = {
      documentId: randomUUID(),
      page: 1,
      source: { file: 'slow.pdf', kind: 'pdf', index: 1 },
      languages: 'eng',
      dpi: 150,
      pixels: 1,
      formats: [],
      // Straight to the rasterizer, whose child is what this test shows killed.
      forceOcr: true,
      engine: 'tesseract',
      tenant: OPEN_TENANT,
      priority: 'batch',
    };
    await assert.rejects(recognizePage(job, slow, deps), (err: unknown) => {
      assert.ok(err instanceof PageTimeoutError);
      assert.equal(err.stage, 'rasterize');
      assert.match(err.message, /timed out after 1000 ms in stage rasterize/);
      return true;
    });
    // pdftoppm is gone once the attempt has failed; without the kill it would render for minutes.
    const left = spawnSync('pgrep', ['-f', `pdftoppm .*${slow}`], { encoding: 'utf8' });
    assert.equal(left.stdout.trim(), '', 'no pdftoppm left running');
  });

  test('past PAGE_TIMEOUT_MS the tesseract thread is terminated and replaced', async () => {
    const page = await preprocess({ image: png, index: 0 }, 40_000_000);
    const pool = new OcrPool({
      slots: 1,
      tessdataDir: undefined,
      model: 'fast',
      deskew: true,
      maxPages: 100,
      maxHeapBytes: 2 ** 30,
      log: silent,
    });
    try {
      await pool.recognize(page, 'eng', never);
      const deadline = new AbortController();
      setTimeout(() => deadline.abort(new PageTimeoutError('ocr', 50)), 50);
      await assert.rejects(pool.recognize(page, 'eng', deadline.signal), /timed out after 50 ms in stage ocr/);
      // The only slot's thread was terminated mid-page: the next page gets a fresh one.
      assert.ok(cer(LINES.join('\n'), (await pool.recognize(page, 'eng', never)).text) <= 0.05);
    } finally {
      await pool.close();
    }
  });

  /** A born-digital page of 12 lines with `count` gray images of 200 × 100 samples (`samples` each) drawn below them. */
  async function hybridPage(name: string, count: number, samples: Buffer) {
    const doc = await PDFDocument.create();
    const page = doc.addPage([612, 792]);
    const font = await doc.embedFont(StandardFonts.Helvetica);
    const lines = wordLines(3, 12);
    lines.forEach((line, i) => page.drawText(line, { x: 72, y: 720 - i * 18, size: 11, font }));
    const draws = Array.from({ length: count }, (_, i) => {
      const image = doc.context.register(
        doc.context.flateStream(samples, {
          Type: 'XObject',
          Subtype: 'Image',
          Width: 200,
          Height: 100,
          BitsPerComponent: 8,
          ColorSpace: 'DeviceGray',
        }),
      );
      page.node.setXObject(PDFName.of(`Im${i}`), image);
      // Five to a row, 20 pt apart: separate regions.
      return `q 80 0 0 40 ${72 + (i % 5) * 100} ${400 - Math.floor(i / 5) * 60} cm /Im${i} Do Q`;
    });
    page.node.addContentStream(doc.context.register(doc.context.stream(draws.join(' '))));
    const file = path.join(dir, `${name}.pdf`);
    await writeFile(file, await doc.save());
    const job: PageJob = {
      documentId: randomUUID(),
      page: 1,
      source: { file: `${name}.pdf`, kind: 'pdf', index: 1 },
      languages: 'eng',
      dpi: 150,
      pixels: 1,
      formats: [],
      forceOcr: false,
      engine: 'tesseract',
      tenant: OPEN_TENANT,
      priority: 'batch',
    };
    const deps = pipelineDeps(60_000);
    return { result: await recognizePage(job, file, deps), lines };
  }

  test('a hybrid page whose image cannot be decoded here has it rendered instead, its layer read as it is', async () => {
    // Flate data that inflates to a tenth of the 200 × 100 samples the image says it has.
    const { result, lines } = await hybridPage('damaged-image', 1, Buffer.alloc(2000, 128));
    assert.equal(result.status, 'completed');
    assert.deepEqual(Object.keys(result.durations ?? {}).sort(), [
      'decode',
      'extract',
      'ocr',
      'preprocess',
      'rasterize',
    ]);
    assert.equal(result.method, 'text', 'a gray rectangle holds no words');
    assert.deepEqual(result.text.split(/\s+/).filter(Boolean), lines.join(' ').split(' '));
  });

  test('a hybrid page of many images has them rendered in one pass; of a few, decoded', async () => {
    const gray = Buffer.alloc(200 * 100, 128);
    const many = await hybridPage('many-images', 17, gray);
    assert.deepEqual(Object.keys(many.result.durations ?? {}).sort(), ['extract', 'ocr', 'preprocess', 'rasterize']);
    const few = await hybridPage('few-images', 16, gray);
    assert.deepEqual(Object.keys(few.result.durations ?? {}).sort(), ['decode', 'extract', 'ocr', 'preprocess']);
    for (const { result, lines } of [many, few]) {
      assert.deepEqual(result.text.split(/\s+/).filter(Boolean), lines.join(' ').split(' '));
    }
  });

  test('OCR works with the network unreachable', (t) => {
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

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import sharp from 'sharp';
import { createLogger, loadConfig } from '@pagefleet/shared';
import { pixelsOf, toGray } from '../apps/worker/src/pipeline/gray.js';
import { OcrPool } from '../apps/worker/src/pipeline/ocr.js';
import { OrientationDetector, rotatePage } from '../apps/worker/src/pipeline/orientation.js';
import { readUpright, ROTATE_BELOW_CONFIDENCE, type StageRunner } from '../apps/worker/src/pipeline/page.js';
import { encodePgm } from '../apps/worker/src/pipeline/pgm.js';
import { preprocess, type PreparedPage } from '../apps/worker/src/pipeline/preprocess.js';
import { previewJpeg } from '../apps/worker/src/pipeline/preview.js';
import { cer, scannedPage, wordLines } from '../scripts/lib/fixtures.js';
import { until } from '../scripts/lib/until.js';

const never = new AbortController().signal;
const plain: StageRunner = (_name, work) => work(never);
const silent = createLogger(loadConfig({ LOG_LEVEL: 'silent' }), 'test');

/** A generated scan as the pipeline prepares it, turned `degrees` clockwise (as a scanner fed it). */
async function turnedScan(seed: number, degrees: number): Promise<PreparedPage> {
  return { ...(await toGray(sharp(await scannedPage(seed)).rotate(degrees))), dpi: 300 };
}

describe('one-band images through sharp', () => {
  test('a rendered page over the pixel cap is shrunk to one byte a pixel, gray kept', async () => {
    const width = 400;
    const height = 300;
    const { pgm } = encodePgm(Buffer.alloc(width * height, 100), width, height);
    const page = await preprocess({ rendered: { pgm, width, height, dpi: 300 } }, 30_000);
    assert.ok(page.width * page.height <= 30_000);
    assert.equal(page.pgm.length, `P5\n${page.width} ${page.height}\n255\n`.length + page.width * page.height);
    assert.ok(pixelsOf(page).every((value) => value === 100));
    assert.equal(page.dpi, Math.round((300 * page.width) / width));
  });

  test('a quarter turn swaps the sides and keeps one byte a pixel', async () => {
    const pixels = Buffer.alloc(6 * 4, 255);
    pixels[0] = 0; // top left corner, dark
    const turned = await rotatePage({ ...encodePgm(pixels, 6, 4), dpi: 200 }, 90);
    assert.deepEqual([turned.width, turned.height, turned.dpi], [4, 6, 200]);
    assert.equal(pixelsOf(turned).length, 24);
    // A clockwise quarter turn takes the top left corner to the top right.
    assert.equal(pixelsOf(turned)[3], 0);
  });

  test('the preview is a JPEG at most 1200 pixels wide, in the proportions of the page read', async () => {
    const page = await turnedScan(1, 0);
    const meta = await sharp(await previewJpeg(page)).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.width, 1200);
    assert.equal(meta.height, Math.round((1200 * page.height) / page.width));
  });
});

describe('pages scanned sideways or upside down', () => {
  const ocr = new OcrPool({
    slots: 1,
    tessdataDir: undefined,
    model: 'fast',
    deskew: true,
    maxPages: 100,
    maxHeapBytes: 2 ** 30,
    log: silent,
  });
  const orientation = new OrientationDetector(100);
  after(() => Promise.all([ocr.close(), orientation.close()]));
  const job = { languages: 'eng', formats: [] };

  for (const degrees of [90, 180, 270] as const) {
    test(`a page turned ${degrees}° is found turned, and read upright`, async () => {
      const page = await turnedScan(2, degrees);
      const guess = await orientation.detect(page, never);
      assert.equal((guess.degrees + degrees) % 360, 0, `OSD says turn ${guess.degrees}°`);
      const read = await readUpright(page, job, { ocr, orientation }, plain);
      assert.ok(cer(wordLines(2, 36).join('\n'), read.ocr.text) < 0.02, read.ocr.text.slice(0, 200));
      assert.ok(read.ocr.confidence >= ROTATE_BELOW_CONFIDENCE);
    });
  }

  test('without AUTO_ROTATE a page turned 180° or 270° stays unread', async () => {
    for (const degrees of [180, 270]) {
      const read = await readUpright(await turnedScan(2, degrees), job, { ocr, orientation: undefined }, plain);
      assert.ok(cer(wordLines(2, 36).join('\n'), read.ocr.text) > 0.5);
      assert.ok(read.ocr.confidence < ROTATE_BELOW_CONFIDENCE, `confidence ${read.ocr.confidence}`);
    }
  });

  test('the detector starts a thread again after letting its idle one go', async () => {
    const page = await turnedScan(3, 180);
    assert.equal((await orientation.detect(page, never)).degrees, 180);
    // Past the idle time (100 ms here) the thread is terminated; the next page starts another.
    assert.ok(orientation.hasThread);
    await until('the idle thread is let go', () => Promise.resolve(orientation.hasThread ? undefined : true), 10_000);
    assert.equal((await orientation.detect(page, never)).degrees, 180);
  });
});

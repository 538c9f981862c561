import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import sharp from 'sharp';
import { onPath } from '@pagefleet/shared';
import { toGray } from '../apps/worker/src/pipeline/gray.js';
import { NativeOcr } from '../apps/worker/src/pipeline/native-ocr.js';
import { cer, FIXTURE_DPI, scannedPage, wordLines } from '../scripts/lib/fixtures.js';
import { until } from '../scripts/lib/until.js';

const installed = onPath('tesseract');
const never = new AbortController().signal;

describe(
  "OCR_ENGINE=native: Tesseract's command, a child per page",
  { skip: installed ? false : 'no tesseract command (apt-get install tesseract-ocr)' },
  () => {
    const ocr = new NativeOcr({ tessdataDir: undefined, model: 'fast' });
    after(() => ocr.close());

    const page = async (seed: number) => ({ ...(await toGray(sharp(await scannedPage(seed)))), dpi: FIXTURE_DPI });

    test('reads the text, the words with their boxes, and the formats asked for', async () => {
      const output = await ocr.recognize(await page(1), 'eng', never, ['hocr', 'tsv', 'pdf']);
      assert.ok(cer(wordLines(1, 36).join('\n'), output.text) < 0.02, output.text.slice(0, 200));
      assert.ok(!output.text.includes('\f'), "no page separator in a page's text");
      assert.ok(output.words.length > 300);
      assert.ok(output.confidence > 85);
      const word = output.words[0];
      assert.ok(word && word.bbox.x1 > word.bbox.x0 && word.bbox.y1 > word.bbox.y0);
      assert.match(output.formats.hocr?.toString() ?? '', /ocrx_word/);
      assert.match(output.formats.tsv?.toString() ?? '', /^level\tpage_num/);
      assert.equal(output.formats.pdf?.subarray(0, 5).toString('latin1'), '%PDF-');
    });

    test("a deadline kills the child: the call rejects with the signal's reason at once", async () => {
      const controller = new AbortController();
      const reading = ocr.recognize(await page(2), 'eng', controller.signal);
      setTimeout(() => controller.abort(new Error('deadline')), 100);
      const started = performance.now();
      await assert.rejects(reading, /deadline/);
      assert.ok(performance.now() - started < 1000);
    });

    test('closed while a read is under way (a page handed back on shutdown, which its slot no longer awaits), it waits for the read to end and remove its folder', async () => {
      const tmp = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-native-'));
      const saved = process.env.TMPDIR;
      process.env.TMPDIR = tmp;
      const own = new NativeOcr({ tessdataDir: undefined, model: 'fast' });
      const folders = async () => (await readdir(tmp)).filter((name) => name.startsWith('pagefleet-page-'));
      try {
        let ended = false;
        const reading = own.recognize(await page(4), 'eng', never).finally(() => (ended = true));
        await until('the read to make its folder', async () => ((await folders()).length > 0 ? true : undefined));
        await own.close();
        assert.equal(ended, true, 'the read ended before close() did');
        assert.deepEqual(await folders(), []);
        await reading;
      } finally {
        if (saved === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = saved;
        await rm(tmp, { recursive: true, force: true });
      }
    });

    test("npm's gzipped best_int model is unzipped for the command", async () => {
      const best = new NativeOcr({ tessdataDir: undefined, model: 'best_int' });
      try {
        const output = await best.recognize(await page(3), 'eng', never);
        assert.ok(cer(wordLines(3, 36).join('\n'), output.text) < 0.02);
      } finally {
        await best.close();
      }
    });
  },
);

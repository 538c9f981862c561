import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import sharp from 'sharp';
import { onPath } from '@pagefleet/shared';
import { toGray } from '../apps/worker/src/pipeline/gray.js';
import { NativeOcr } from '../apps/worker/src/pipeline/native-ocr.js';
import { cer, FIXTURE_DPI, scannedPage, wordLines } from '../scripts/lib/fixtures.js';

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

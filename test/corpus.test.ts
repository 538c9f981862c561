import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cer } from './support/fixtures.js';
import { finished, startStack, type Stack } from './support/stack.js';

// Real documents from ../shared/corpus (see its MANIFEST.md); skipped when CORPUS_DIR is not set.
const corpus = process.env.CORPUS_DIR;
const present = Boolean(corpus && existsSync(path.join(corpus, 'MANIFEST.md')));

describe('the shared corpus', { skip: present ? false : 'CORPUS_DIR is not set' }, () => {
  let stack: Stack;
  const file = (relative: string) => path.join(corpus as string, relative);
  const submitFile = async (relative: string) =>
    stack.submit([{ name: path.basename(relative), data: await readFile(file(relative)) }]);

  before(async () => {
    stack = await startStack();
    await stack.startWorker();
  });
  after(() => stack.stop());

  for (const [relative, maxCer] of [
    ['accuracy/tess_phototest.tif', 0.05],
    ['accuracy/tess_unlv_8071_093.tif', 0.15],
  ] as const) {
    test(`${relative} is read within ${maxCer * 100}% character error`, async () => {
      const response = await submitFile(relative);
      assert.equal(response.status, 202);
      const { id } = (await response.json()) as { id: string };
      assert.equal((await stack.waitFor(id, finished, 120_000)).status, 'completed');
      const text = await (await fetch(`${stack.url}/v1/jobs/${id}/text`)).text();
      const truth = await readFile(file(relative.replace(/\.\w+$/, '.gt.txt')), 'utf8');
      const error = cer(truth.normalize('NFC'), text.normalize('NFC'));
      assert.ok(error <= maxCer, `CER ${error.toFixed(3)}`);
    });
  }

  test('a scanned PDF is read', async () => {
    const response = await submitFile('pdfs/ocrmypdf_linn.pdf');
    const { id } = (await response.json()) as { id: string };
    assert.equal((await stack.waitFor(id, finished, 120_000)).status, 'completed');
    const text = await (await fetch(`${stack.url}/v1/jobs/${id}/text`)).text();
    const truth = await readFile(file('accuracy/ocrmypdf_linn.gt.txt'), 'utf8');
    // The reference is itself an OCR output (see MANIFEST): only a loose bound means anything.
    assert.ok(cer(truth, text) < 0.2, text.slice(0, 200));
  });

  for (const [relative, status, code] of [
    ['bad/ocrmypdf_skew-encrypted_userpw_password.pdf', 422, 'encrypted'],
    ['bad/qpdf_enc_aes256_R6_userpw_view.pdf', 422, 'encrypted'],
    ['bad/ocrmypdf_invalid.pdf', 422, 'unreadable'],
    ['bad/qpdf_empty_zero_pages.pdf', 422, 'empty'],
    ['bad/pdfjs_poppler-85140-0_mediabox_intmax.pdf', 422, 'unreadable'],
    ['bad/pillow_broken.png', 422, 'unreadable'],
    ['bad/pillow_decompression_bomb.gif', 415, 'bad_type'],
    ['bad/pillow_reallybig.bmp', 415, 'bad_type'],
  ] as const) {
    test(`${relative} is refused with ${status} ${code}`, async () => {
      const response = await submitFile(relative);
      assert.equal(response.status, status);
      assert.equal(((await response.json()) as { code: string }).code, code);
    });
  }
});

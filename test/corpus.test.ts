import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cer } from '../scripts/lib/fixtures.js';
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
    ['bad/derived_text_named.png', 415, 'bad_type'],
    ['bad/derived_truncated_tracemonkey.pdf', 422, 'unreadable'],
    ['bad/pdfjs_REDHAT-1531897-0.pdf', 422, 'unreadable'],
    ['bad/pdfjs_saslprep-r6.pdf', 422, 'encrypted'],
    ['bad/qpdf_object-stream-self-ref.pdf', 422, 'unreadable'],
    ['bad/pillow_oom_huge_tiff.tif', 422, 'unreadable'],
  ] as const) {
    test(`${relative} is refused with ${status} ${code}`, async () => {
      const response = await submitFile(relative);
      assert.equal(response.status, status);
      assert.equal(((await response.json()) as { code: string }).code, code);
    });
  }

  // Odd but readable: each is processed to the end, bounded, without a crash. Encryption without a
  // user password does not stop reading; a polyglot whose PDF part opens is read as a PDF (nothing
  // else in it is ever executed); a truncated JPEG ends as a failed page with its decoder's error.
  for (const [relative, status] of [
    ['bad/ocrmypdf_encrypted_algo4_nopw.pdf', 'completed'],
    ['bad/pdfjs_empty_protected.pdf', 'completed'],
    ['bad/corkami_appleII_polyglot.pdf', 'completed'],
    ['bad/ocrmypdf_hugemono.pdf', 'completed'],
    ['bad/pdfjs_xref_command_missing.pdf', 'completed'],
    ['bad/qpdf_damaged-stream.pdf', 'completed'],
    ['bad/qpdf_pages-loop.pdf', 'completed'],
    ['bad/pillow_png_decompression_dos.png', 'completed'],
    ['bad/sharp_truncated.jpg', 'failed'],
  ] as const) {
    test(`${relative} is accepted and ends ${status}`, async () => {
      const response = await submitFile(relative);
      assert.equal(response.status, 202);
      const { id } = (await response.json()) as { id: string };
      assert.equal((await stack.waitFor(id, finished, 120_000)).status, status);
    });
  }
});

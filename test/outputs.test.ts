import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DocumentState } from '@pagefleet/shared';
import { cer, pdfOf, textPage } from '../scripts/lib/fixtures.js';
import { pdfText } from './support/pdf-text.js';
import { finished, startStack, STORAGES, type Stack } from './support/stack.js';

const PAGES = [
  ['Searchable output for every page.', 'Invisible text over the scan.'],
  ['The second page has its own layer.', 'Copy and paste works again.'],
];

for (const storage of STORAGES) {
  describe(`outputs: hOCR, TSV and a searchable PDF, when asked for (${storage})`, () => {
    let stack: Stack;
    let pdf: Buffer;
    let withAll: string;
    let plain: string;
    before(async () => {
      stack = await startStack({}, storage);
      await stack.startWorker();
      pdf = await pdfOf(await Promise.all(PAGES.map(textPage)));
      const submit = async (fields: Record<string, string>) => {
        const response = await stack.submit([{ name: 'two.pdf', data: pdf }], fields);
        assert.equal(response.status, 202);
        return ((await response.json()) as { id: string }).id;
      };
      withAll = await submit({ outputs: 'text,json,hocr,tsv,pdf' });
      plain = await submit({});
      await stack.waitFor(withAll, finished);
      await stack.waitFor(plain, finished);
    });
    after(() => stack.stop());

    const get = (url: string) => fetch(`${stack.url}${url}`);

    test('the job lists its outputs; text and json are always there', async () => {
      const doc = (await (await get(`/v1/jobs/${withAll}`)).json()) as DocumentState;
      assert.equal(doc.status, 'completed');
      assert.deepEqual(doc.outputs, ['text', 'json', 'hocr', 'tsv', 'pdf']);
      assert.deepEqual(((await (await get(`/v1/jobs/${plain}`)).json()) as DocumentState).outputs, ['text', 'json']);
    });

    test('per page: hOCR with word boxes, TSV with a row per word, JSON and text', async () => {
      const hocr = await get(`/v1/jobs/${withAll}/pages/1?format=hocr`);
      assert.equal(hocr.status, 200);
      assert.match(hocr.headers.get('content-type') ?? '', /^application\/xhtml\+xml/);
      const markup = await hocr.text();
      assert.match(markup, /class=["']ocr_page["']/);
      assert.match(
        markup,
        /class=["']ocrx_word["'][^>]*title=["']bbox \d+ \d+ \d+ \d+; x_wconf \d+["'][^>]*>Searchable</,
      );

      const tsv = await get(`/v1/jobs/${withAll}/pages/2?format=tsv`);
      assert.match(tsv.headers.get('content-type') ?? '', /^text\/tab-separated-values/);
      const rows = (await tsv.text())
        .trim()
        .split('\n')
        .map((row) => row.split('\t'));
      const words = rows.filter((row) => row[0] === '5').map((row) => row[11]);
      assert.ok(words.includes('layer.'), words.join(' '));

      const json = (await (await get(`/v1/jobs/${withAll}/pages/1`)).json()) as { page: number; words: unknown[] };
      assert.equal(json.page, 1);
      assert.ok(json.words.length > 5);
      const text = await (await get(`/v1/jobs/${withAll}/pages/2?format=text`)).text();
      assert.ok(cer(PAGES[1]?.join('\n') ?? '', text) <= 0.05, text);
    });

    test('GET /v1/jobs/:id/pdf: one searchable PDF of every page, its text layer extractable', async () => {
      const response = await get(`/v1/jobs/${withAll}/pdf`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'application/pdf');
      assert.match(response.headers.get('content-disposition') ?? '', /attachment; filename=".+\.pdf"/);
      const body = Buffer.from(await response.arrayBuffer());
      assert.equal(body.subarray(0, 5).toString(), '%PDF-');
      const { pages, text } = await pdfText(body);
      assert.equal(pages, 2);
      const expected = PAGES.flat().join(' ');
      assert.ok(cer(expected, text) <= 0.08, `layer text: ${JSON.stringify(text)}`);

      const page = await get(`/v1/jobs/${withAll}/pages/2?format=pdf`);
      assert.equal((await pdfText(Buffer.from(await page.arrayBuffer()))).pages, 1);
    });

    test('formats not asked for are 404 problems, a page out of range 400, an unknown output 400', async () => {
      for (const url of [
        `/v1/jobs/${plain}/pdf`,
        `/v1/jobs/${plain}/pages/1?format=hocr`,
        `/v1/jobs/${plain}/pages/1?format=tsv`,
      ]) {
        const response = await get(url);
        assert.equal(response.status, 404, url);
        assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
        assert.match(((await response.json()) as { detail: string }).detail, /outputs=/);
      }
      assert.equal((await get(`/v1/jobs/${plain}/pages/3`)).status, 400);
      assert.equal((await get(`/v1/jobs/${plain}/pages/1?format=docx`)).status, 400);
      const refused = await stack.submit([{ name: 'two.pdf', data: pdf }], { outputs: 'text,docx' });
      assert.equal(refused.status, 400);
      assert.match(
        ((await refused.json()) as { detail: string }).detail,
        /docx: choose among text, json, hocr, tsv, pdf/,
      );
    });
  });
}

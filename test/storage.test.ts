import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { documentKeys, type DocumentState, type PageResult } from '@pagefleet/shared';
import { cer, pdfOf, textPage } from '../scripts/lib/fixtures.js';
import { scrape, valueOf } from './support/prometheus.js';
import { finished, startStack, type Stack } from './support/stack.js';

const LINES = Array.from({ length: 6 }, (_, i) => [`Page ${i + 1} of a split document.`, 'Fetched on its own.']);

describe('object storage: a worker fetches what its page needs', () => {
  let stack: Stack;
  let metricsUrl: string;
  before(async () => {
    stack = await startStack({}, 's3');
    const worker = await stack.startWorker();
    metricsUrl = `http://127.0.0.1:${worker.port}`;
  });
  after(() => stack.stop());

  test('a multi-page PDF is split once into its selected pages; each page fetches its own, not the file', async () => {
    const pdf = await pdfOf(await Promise.all(LINES.map(textPage)));
    const response = await stack.submit([{ name: 'six.pdf', data: pdf }], { pages: '2-5' });
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };
    const doc: DocumentState = await stack.waitFor(id, finished);
    assert.deepEqual([doc.status, doc.pagesDone], ['completed', 4]);

    const stored = await stack.stored(id);
    const split = stored.filter((key) => key.startsWith('input/0.pdf.pages/'));
    assert.deepEqual(
      split,
      [2, 3, 4, 5].map((page) => `input/0.pdf.pages/00000${page}.pdf`),
    );
    let splitBytes = 0;
    for (const key of split) splitBytes += (await stack.api.blobs.head(`${documentKeys(id).root}${key}`))?.size ?? 0;

    const samples = await scrape(metricsUrl);
    assert.equal(valueOf(samples, 'pagefleet_pdf_splits_total', { outcome: 'split' }), 1);
    const fetched = valueOf(samples, 'pagefleet_page_input_fetched_bytes_total');
    assert.equal(fetched, splitBytes, 'each page fetched its own one-page PDF, once');
    assert.ok(fetched < pdf.length * 4, `fetched ${fetched} bytes, not the ${pdf.length}-byte file per page`);

    const { pages } = (await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).json()) as { pages: PageResult[] };
    assert.deepEqual(
      pages.map((page) => page.page),
      [2, 3, 4, 5],
    );
    pages.forEach((page) => assert.ok(cer(LINES[page.page - 1]?.join('\n') ?? '', page.text) <= 0.1, page.text));
  });
});

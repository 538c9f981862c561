import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DocumentState, PageResult } from '@pagefleet/shared';
import { cer, jpegOf, pdfOf, textPage, tiffOf, webpOf } from '../scripts/lib/fixtures.js';
import { finished, startStack, VARIANTS, type Stack } from './support/stack.js';

const PAGES = [
  ['Invoice 2041 was paid on the fourth of March.', 'Thank you for your business.'],
  ['The quick brown fox jumps over the lazy dog.', 'Pack my box with five dozen liquor jugs.'],
  ['Memory is bounded by worker slots.', 'Never by the number of requests.'],
  ['Every page is a job of its own.', 'Workers pull pages from the queue.'],
  ['A scanned letter from the archive.', 'Dated the ninth of June, nineteen hundred.'],
  ['Sphinx of black quartz, judge my vow.', 'How vexingly quick daft zebras jump.'],
  ['The final page of the document.', 'Signed and sealed by the clerk.'],
  ['An appendix with a table of figures.', 'Total amount due: 1,250.00 dollars.'],
];
const expected = (lines: string[]) => lines.join('\n');

interface Submitted {
  id: string;
  status: string;
  pageCount: number;
  links: { self: string; result: string; text: string };
}

for (const { storage, redis } of VARIANTS) {
  describe(`a document of mixed files, end to end (${storage}, Redis ${redis})`, () => {
    let stack: Stack;
    let images: Buffer[];
    before(async () => {
      stack = await startStack({}, storage, redis);
      images = await Promise.all(PAGES.map(textPage));
    });
    after(() => stack.stop());

    test('PNG, 3-page PDF, 2-page TIFF, JPEG and WebP become one document, read in upload order', async () => {
      const [p1, p2, p3, p4, p5, p6, p7, p8] = images as [
        Buffer,
        Buffer,
        Buffer,
        Buffer,
        Buffer,
        Buffer,
        Buffer,
        Buffer,
      ];
      const response = await stack.submit([
        { name: 'cover.png', data: p1 },
        { name: 'body.pdf', data: await pdfOf([p2, p3, p4]) },
        // Names lie on purpose: the type comes from the bytes.
        { name: 'scan.pdf', data: await tiffOf([p5, p6]) },
        { name: 'photo.jpg', data: await jpegOf(p7) },
        { name: 'last', data: await webpOf(p8) },
      ]);
      assert.equal(response.status, 202);
      const body = (await response.json()) as Submitted;
      assert.equal(body.status, 'queued');
      assert.equal(body.pageCount, 8);
      assert.equal(response.headers.get('location'), `/v1/jobs/${body.id}`);
      assert.equal(body.links.text, `/v1/jobs/${body.id}/text`);

      const queued = (await (await fetch(`${stack.url}/v1/jobs/${body.id}`)).json()) as DocumentState;
      assert.equal(queued.status, 'queued');
      const early = await fetch(`${stack.url}/v1/jobs/${body.id}/text`);
      assert.equal(early.status, 409);
      assert.match(early.headers.get('content-type') ?? '', /application\/problem\+json/);

      await stack.startWorker();
      const seen = new Set<string>();
      const done = await stack.waitFor(body.id, (doc) => {
        seen.add(doc.status);
        return finished(doc);
      });
      assert.equal(done.status, 'completed', JSON.stringify(done));
      assert.ok(seen.has('processing'), `statuses seen: ${[...seen].join(', ')}`);
      assert.equal(done.pagesDone, 8);
      assert.equal(done.pagesFailed, 0);
      assert.ok(done.finishedAt);

      const result = (await (await fetch(`${stack.url}/v1/jobs/${body.id}/result`)).json()) as { pages: PageResult[] };
      assert.deepEqual(
        result.pages.map((page) => page.page),
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
      result.pages.forEach((page, i) => {
        const error = cer(expected(PAGES[i] as string[]), page.text);
        assert.ok(error <= 0.05, `page ${i + 1}: CER ${error.toFixed(3)} for ${JSON.stringify(page.text)}`);
        assert.ok(page.confidence > 50);
        assert.ok(page.words.length >= 8);
        const word = page.words[0];
        assert.ok(word && word.bbox.x1 > word.bbox.x0 && word.bbox.y1 > word.bbox.y0);
      });

      const text = await fetch(`${stack.url}/v1/jobs/${body.id}/text`);
      assert.equal(text.status, 200);
      assert.match(text.headers.get('content-type') ?? '', /^text\/plain/);
      const parts = (await text.text()).split('\f');
      assert.equal(parts.length, 8);
      assert.deepEqual(
        parts,
        result.pages.map((page) => page.text),
      );

      const paged = (await (await fetch(`${stack.url}/v1/jobs/${body.id}/result?offset=6&limit=5`)).json()) as {
        pages: PageResult[];
        links?: unknown;
      };
      assert.deepEqual(
        paged.pages.map((page) => page.page),
        [7, 8],
      );
      assert.equal(paged.links, undefined);
      const first = (await (await fetch(`${stack.url}/v1/jobs/${body.id}/result?limit=3`)).json()) as {
        links: { next: string };
      };
      assert.equal(first.links.next, `/v1/jobs/${body.id}/result?offset=3&limit=3`);
    });

    test('a page that cannot be decoded fails alone: the document ends partial with its error', async () => {
      const good = images[0] as Buffer;
      const truncated = good.subarray(0, Math.floor(good.length / 2));
      const response = await stack.submit([
        { name: 'good.png', data: good },
        { name: 'truncated.png', data: truncated },
      ]);
      assert.equal(response.status, 202);
      const { id } = (await response.json()) as Submitted;
      const done = await stack.waitFor(id, finished);
      assert.equal(done.status, 'partial');
      assert.equal(done.pagesDone, 1);
      assert.equal(done.pagesFailed, 1);
      assert.match(done.error ?? '', /1 of 2 pages failed/);
      const result = (await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).json()) as { pages: PageResult[] };
      assert.equal(result.pages[0]?.status, 'completed');
      assert.equal(result.pages[1]?.status, 'failed');
      assert.ok(result.pages[1]?.error, 'the failed page says why');
      assert.equal((await fetch(`${stack.url}/v1/jobs/${id}/text`)).status, 200);
    });
  });
}

describe('fairness', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ WORKER_CONCURRENCY: '1' });
  });
  after(() => stack.stop());

  test('a one-page document submitted after a 12-page one does not wait for its 12 pages', async () => {
    const page = await textPage(['A short page of text.']);
    const big = await stack.submit([{ name: 'big.tif', data: await tiffOf(Array.from({ length: 12 }, () => page)) }]);
    const small = await stack.submit([{ name: 'small.png', data: page }]);
    const bigId = ((await big.json()) as Submitted).id;
    const smallId = ((await small.json()) as Submitted).id;

    await stack.startWorker();
    await stack.waitFor(smallId, (doc) => doc.status === 'completed');
    const bigNow = (await (await fetch(`${stack.url}/v1/jobs/${bigId}`)).json()) as DocumentState;
    // One slot: the big document's first page runs, then the small one's, then the rest.
    assert.ok(bigNow.pagesDone <= 2, `the big document had ${bigNow.pagesDone} pages done first`);
    const big12 = await stack.waitFor(bigId, finished);
    assert.equal(big12.pagesDone, 12);
  });
});

for (const { storage, redis } of VARIANTS) {
  describe(`canceling and unknown jobs (${storage}, Redis ${redis})`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({}, storage, redis);
    });
    after(() => stack.stop());

    test('DELETE cancels waiting pages and removes the files but its saved state', async () => {
      const page = await textPage(['Nobody will ever read this page.']);
      const response = await stack.submit([{ name: 'doc.tif', data: await tiffOf([page, page, page]) }]);
      const { id } = (await response.json()) as Submitted;
      assert.deepEqual(await stack.stored(id), ['document.json', 'input/0.tif']);

      const deleted = await fetch(`${stack.url}/v1/jobs/${id}`, { method: 'DELETE' });
      assert.equal(deleted.status, 204);
      const doc = (await (await fetch(`${stack.url}/v1/jobs/${id}`)).json()) as DocumentState;
      assert.equal(doc.status, 'canceled');
      assert.deepEqual(await stack.stored(id), ['document.json'], 'it says canceled until RESULT_TTL');
      assert.equal(await stack.api.dispatch.queuedPages(), 0);
      assert.equal((await fetch(`${stack.url}/v1/jobs/${id}/text`)).status, 409);
    });

    test('unknown and malformed ids are 404 problems', async () => {
      for (const id of ['7b0c36a4-2f4e-4a7e-9c55-2a1f2b7e0e11', 'not-a-uuid', '..%2F..%2Fetc']) {
        for (const suffix of ['', '/result', '/text']) {
          const response = await fetch(`${stack.url}/v1/jobs/${id}${suffix}`);
          assert.equal(response.status, 404, `${id}${suffix}`);
          assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
          const problem = (await response.json()) as { type: string; title: string; status: number; detail: string };
          assert.equal(problem.status, 404);
          assert.ok(problem.type && problem.title && problem.detail);
        }
      }
      assert.equal((await fetch(`${stack.url}/v1/jobs/not-a-uuid`, { method: 'DELETE' })).status, 404);
    });
  });
}

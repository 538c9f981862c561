import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { pageJobId, QUEUES, uploadsDir, type PageJob, type PageQueueName } from '@pagefleet/shared';
import { pdfOf, textPage, tiffOf } from '../scripts/lib/fixtures.js';
import { until } from '../scripts/lib/until.js';
import { finished, startStack, type Stack } from './support/stack.js';

interface Problem {
  status: number;
  code: string;
  detail: string;
}

async function expectProblem(response: Response, status: number, code: string, detail: RegExp): Promise<Problem> {
  assert.equal(response.status, status);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const problem = (await response.json()) as Problem;
  assert.equal(problem.code, code);
  assert.match(problem.detail, detail);
  return problem;
}

describe('pages above LARGE_PAGE_PIXELS go to pages-large, which only workers that take it read', () => {
  let stack: Stack;
  let pdf: Buffer;
  before(async () => {
    // At 300 DPI a two-line fixture page is 0.92 megapixels and a four-line one 1.33.
    stack = await startStack({ LARGE_PAGE_PIXELS: '1000000' });
    pdf = await pdfOf([
      await textPage(['A small page for a small worker.', 'It fits any slot.']),
      await textPage([
        'A large page waits for a large worker.',
        'Small workers never take it.',
        'Line three.',
        'Line four.',
      ]),
    ]);
  });
  after(() => stack.stop());

  const queue = (name: PageQueueName) => () => stack.api.dispatch.queue(name);
  const [pages, large] = [queue(QUEUES.pages), queue(QUEUES.pagesLarge)];

  test('the API routes each page by its pixels at the requested DPI', async () => {
    const at300 = (await (await stack.submit([{ name: 'mixed.pdf', data: pdf }], { dpi: '300' })).json()) as {
      id: string;
    };
    const small = await pages().getJob(pageJobId(at300.id, 1));
    const big = await large().getJob(pageJobId(at300.id, 2));
    assert.equal((small?.data as PageJob).pixels, 2550 * 360);
    assert.equal((big?.data as PageJob).pixels, 2550 * 520);
    assert.equal(await pages().getJob(pageJobId(at300.id, 2)), undefined);

    const at150 = (await (await stack.submit([{ name: 'mixed.pdf', data: pdf }], { dpi: '150' })).json()) as {
      id: string;
    };
    assert.ok(await pages().getJob(pageJobId(at150.id, 2)), 'at 150 DPI the same page is small');

    await stack.startWorker({ WORKER_QUEUES: 'pages' });
    await stack.waitFor(at150.id, finished);
    const partway = await stack.waitFor(at300.id, (doc) => doc.pagesDone === 1);
    assert.equal(partway.status, 'processing');
    assert.match(
      await large().getJobState(pageJobId(at300.id, 2)),
      /waiting|prioritized/,
      'a pages-only worker leaves the large page',
    );

    await stack.startWorker({ WORKER_QUEUES: 'pages-large' });
    const done = await stack.waitFor(at300.id, finished);
    assert.equal(done.status, 'completed');
    const text = await (await fetch(`${stack.url}/v1/jobs/${at300.id}/text`)).text();
    assert.match(text, /A small page for a small worker\.[\s\S]*\f[\s\S]*Small workers never take it\./);
  });
});

describe('admission: the API refuses work it cannot hold, before reading the upload', () => {
  let stack: Stack;
  let tiff: Buffer;
  before(async () => {
    stack = await startStack({ MAX_QUEUED_PAGES: '2', MAX_CONCURRENT_UPLOADS: '1' });
    const page = await textPage(['Queued and waiting.']);
    tiff = await tiffOf([page, page, page]);
  });
  after(() => stack.stop());

  test('past MAX_CONCURRENT_UPLOADS an upload gets 503 busy with Retry-After', async () => {
    // An upload that has sent its headers and part of its body holds the only upload slot.
    const url = new URL(`${stack.url}/v1/jobs`);
    const slow = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=x', 'transfer-encoding': 'chunked' },
    });
    slow.on('error', () => undefined);
    const answered = new Promise<number>((resolve) => slow.on('response', (res) => resolve(res.statusCode ?? 0)));
    slow.write('--x\r\ncontent-disposition: form-data; name="file"; filename="a.tif"\r\n\r\n');
    slow.write(tiff.subarray(0, 100));
    // Past admission, multer has begun writing the upload: the slot is taken.
    const uploads = uploadsDir(stack.config.DATA_DIR);
    await until('the slow upload holds the slot', async () =>
      existsSync(uploads) && (await readdir(uploads)).length > 0 ? true : undefined,
    );

    const response = await stack.submit([{ name: 'b.tif', data: tiff }]);
    assert.equal(response.headers.get('retry-after'), '1');
    await expectProblem(response, 503, 'busy', /MAX_CONCURRENT_UPLOADS/);

    slow.end(Buffer.concat([tiff.subarray(100), Buffer.from('\r\n--x--\r\n')]));
    assert.equal(await answered, 202, 'the upload that held the slot completes');
  });

  test('past MAX_QUEUED_PAGES a submission gets 429 with Retry-After, and nothing is stored', async () => {
    // The previous test queued 3 pages and no worker runs: 3 ≥ 2.
    const response = await stack.submit([{ name: 'c.tif', data: tiff }]);
    assert.equal(response.headers.get('retry-after'), '30');
    await expectProblem(
      response,
      429,
      'backpressure',
      /3 pages are waiting for a worker; .* below 2 \(MAX_QUEUED_PAGES\)/,
    );
    assert.deepEqual(await readdir(uploadsDir(stack.config.DATA_DIR)), []);
  });
});

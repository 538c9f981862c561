import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { uploadsDir } from '@pagefleet/shared';
import { textPage, tiffOf } from './support/fixtures.js';
import { startStack, type Stack } from './support/stack.js';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

describe('bad submissions get a problem+json answer and leave nothing behind', () => {
  let stack: Stack;
  let page: Buffer;
  before(async () => {
    stack = await startStack({ MAX_FILE_BYTES: String(1024 * 1024), MAX_FILES: '3', MAX_PAGES: '4' });
    page = await textPage(['A valid page.']);
  });
  after(() => stack.stop());

  async function expectProblem(response: Response, status: number, detail: RegExp): Promise<Problem> {
    assert.equal(response.status, status);
    assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const problem = (await response.json()) as Problem;
    assert.equal(problem.status, status);
    assert.match(problem.detail, detail);
    assert.deepEqual(await readdir(uploadsDir(stack.config.DATA_DIR)), [], 'no upload is left on disk');
    return problem;
  }

  test('a file of another type, whatever its name, is 415', async () => {
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');
    await expectProblem(await stack.submit([{ name: 'scan.pdf', data: gif }]), 415, /scan\.pdf: not a PDF/);
  });

  test('no file, a wrong field, unknown fields and a bad dpi are 400', async () => {
    await expectProblem(await stack.submit([]), 400, /at least one file/);
    const wrongField = new FormData();
    wrongField.append('document', new Blob([page]), 'a.png');
    await expectProblem(await fetch(`${stack.url}/v1/jobs`, { method: 'POST', body: wrongField }), 400, /field "file"/);
    await expectProblem(await stack.submit([{ name: 'a.png', data: page }], { language: 'deu' }), 400, /language/);
    await expectProblem(await stack.submit([{ name: 'a.png', data: page }], { dpi: '5000' }), 400, /dpi/);
    await expectProblem(await stack.submit([{ name: 'a.png', data: page }], { dpi: 'high' }), 400, /dpi/);
    await expectProblem(await stack.submit([{ name: 'a.png', data: page }], { languages: '../../etc' }), 400, /not a language/);
    await expectProblem(await fetch(`${stack.url}/v1/jobs`, { method: 'POST', body: 'plain' }), 400, /at least one file/);
  });

  test('a language that is not installed is 422', async () => {
    const problem = await expectProblem(await stack.submit([{ name: 'a.png', data: page }], { languages: 'eng+xyz' }), 422, /xyz is not installed/);
    assert.equal(problem.code, 'unknown_language');
  });

  test('limits on file size, file count and pages answer with the limit', async () => {
    await expectProblem(await stack.submit([{ name: 'big.png', data: Buffer.alloc(2 * 1024 * 1024, 1) }]), 413, /1048576 bytes/);
    const four = Array.from({ length: 4 }, (_, i) => ({ name: `${i}.png`, data: page }));
    await expectProblem(await stack.submit(four), 413, /at most 3 files/);
    const five = await tiffOf([page, page, page, page, page]);
    const problem = await expectProblem(await stack.submit([{ name: 'five.tif', data: five }]), 422, /5 pages; the limit is 4/);
    assert.equal(problem.code, 'too_many_pages');
  });

  test('broken and empty files are 422 with a reason', async () => {
    await expectProblem(await stack.submit([{ name: 'x.pdf', data: Buffer.from('%PDF-1.4\n%%EOF\n') }]), 422, /x\.pdf: the PDF cannot be read/);
    await expectProblem(await stack.submit([{ name: 'x.png', data: page.subarray(0, 20) }]), 422, /x\.png: the image cannot be read/);
  });

  test('unknown routes are 404 problems', async () => {
    const response = await fetch(`${stack.url}/v2/nothing`);
    assert.equal(response.status, 404);
    assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  });

  test('/health and /ready answer', async () => {
    assert.equal((await fetch(`${stack.url}/health`)).status, 200);
    const ready = await fetch(`${stack.url}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(((await ready.json()) as { checks: unknown }).checks, { redis: true, dataDir: true });
  });
});

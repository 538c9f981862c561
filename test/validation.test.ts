import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { readdir, rm } from 'node:fs/promises';
import { crc32, deflateSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { uploadsDir } from '@pagefleet/shared';
import { pdfOf, textPage, textPdf, tiffOf } from '../scripts/lib/fixtures.js';
import { finished, startStack, type Stack } from './support/stack.js';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

/** The refusal as problem+json with `status`, after checking that it left no upload on disk. */
async function readProblem(stack: Stack, response: Response, status: number): Promise<Problem> {
  assert.equal(response.status, status);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const problem = (await response.json()) as Problem;
  assert.equal(problem.status, status);
  assert.deepEqual(await readdir(uploadsDir(stack.config.DATA_DIR)), [], 'no upload is left on disk');
  return problem;
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
    const problem = await readProblem(stack, response, status);
    assert.match(problem.detail, detail);
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
    await expectProblem(
      await stack.submit([{ name: 'a.png', data: page }], { languages: '../../etc' }),
      400,
      /not a language/,
    );
    await expectProblem(
      await fetch(`${stack.url}/v1/jobs`, { method: 'POST', body: 'plain' }),
      400,
      /at least one file/,
    );
  });

  test('a language that is not installed is 422', async () => {
    const problem = await expectProblem(
      await stack.submit([{ name: 'a.png', data: page }], { languages: 'eng+xyz' }),
      422,
      /xyz is not installed/,
    );
    assert.equal(problem.code, 'unknown_language');
  });

  test('limits on file size, file count and pages answer with the limit', async () => {
    await expectProblem(
      await stack.submit([{ name: 'big.png', data: Buffer.alloc(2 * 1024 * 1024, 1) }]),
      413,
      /1048576 bytes/,
    );
    const four = Array.from({ length: 4 }, (_, i) => ({ name: `${i}.png`, data: page }));
    await expectProblem(await stack.submit(four), 413, /at most 3 files/);
    const five = await tiffOf([page, page, page, page, page]);
    const problem = await expectProblem(
      await stack.submit([{ name: 'five.tif', data: five }]),
      422,
      /5 pages; the limit is 4/,
    );
    assert.equal(problem.code, 'too_many_pages');
  });

  test('broken and empty files are 422 with a reason', async () => {
    await expectProblem(
      await stack.submit([{ name: 'x.pdf', data: Buffer.from('%PDF-1.4\n%%EOF\n') }]),
      422,
      /x\.pdf: the PDF cannot be read/,
    );
    await expectProblem(
      await stack.submit([{ name: 'x.png', data: page.subarray(0, 20) }]),
      422,
      /x\.png: the image cannot be read/,
    );
  });

  test('an uploads folder removed under the running API is made again: ready, and the next upload is accepted', async () => {
    await rm(uploadsDir(stack.config.DATA_DIR), { recursive: true, force: true });
    assert.equal((await fetch(`${stack.url}/ready`)).status, 200);
    await rm(uploadsDir(stack.config.DATA_DIR), { recursive: true, force: true });
    const response = await stack.submit([{ name: 'a.png', data: page }]);
    assert.equal(response.status, 202);
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
    assert.deepEqual(((await ready.json()) as { checks: unknown }).checks, {
      redis: true,
      storage: true,
      dataDir: true,
      disk: true,
    });
  });
});

describe('hostile and broken uploads', () => {
  let stack: Stack;
  let page: Buffer;
  before(async () => {
    stack = await startStack({ MAX_FILE_BYTES: String(1024 * 1024) });
    await stack.startWorker();
    page = await textPage(['A valid page.']);
  });
  after(() => stack.stop());

  async function refused(response: Response, status: number, code: string): Promise<Problem> {
    const problem = await readProblem(stack, response, status);
    assert.equal(problem.code, code, problem.detail);
    assert.equal((await fetch(`${stack.url}/health`)).status, 200, 'the API still serves');
    return problem;
  }

  test('an empty file, a text file named .pdf and a truncated PDF say what they are', async () => {
    assert.match(
      (await refused(await stack.submit([{ name: 'empty.pdf', data: Buffer.alloc(0) }]), 422, 'empty')).detail,
      /empty\.pdf: the file is empty/,
    );
    await refused(
      await stack.submit([{ name: 'notes.pdf', data: Buffer.from('Dear diary, this is not a PDF.\n') }]),
      415,
      'bad_type',
    );
    const pdf = await pdfOf([page]);
    await refused(await stack.submit([{ name: 'cut.pdf', data: pdf.subarray(0, 400) }]), 422, 'unreadable');
  });

  test('a PDF whose cross-reference table is corrupt is repaired by the renderer and read', async () => {
    const pdf = textPdf(['A valid page.']).toString('latin1');
    const broken = pdf.replace(/\d{10} 00000 n/g, '9999999999 00000 n').replace(/startxref\n\d+/, 'startxref\n123');
    assert.notEqual(broken, pdf);
    const response = await stack.submit([{ name: 'xref.pdf', data: Buffer.from(broken, 'latin1') }]);
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };
    assert.equal((await stack.waitFor(id, finished)).status, 'completed');
    assert.match(await (await fetch(`${stack.url}/v1/jobs/${id}/text`)).text(), /valid page/);
  });

  test('an image declaring 100000x100000 pixels is refused before any pixel is decoded', async () => {
    const problem = await refused(
      await stack.submit([{ name: 'bomb.png', data: pngHeaderOnly(100_000, 100_000) }]),
      422,
      'too_many_pixels',
    );
    assert.match(problem.detail, /100000x100000/);
  });

  test('the client file name is never a path: a traversal name is stored under a name of our own', async () => {
    const name = '../../../../../tmp/pagefleet-traversal.png';
    const response = await stack.submit([{ name, data: page }]);
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };
    assert.equal((await stack.waitFor(id, finished)).status, 'completed');
    assert.equal(existsSync('/tmp/pagefleet-traversal.png'), false);
    assert.deepEqual(
      (await stack.stored(id)).filter((key) => key.startsWith('input/')),
      ['input/0.png'],
    );
  });

  test('multipart limits: too many fields, a field too long', async () => {
    const many = new FormData();
    for (let i = 0; i < 12; i++) many.append(`f${i}`, 'x');
    many.append('file', new Blob([page]), 'a.png');
    await refused(await fetch(`${stack.url}/v1/jobs`, { method: 'POST', body: many }), 400, 'invalid_request');
    const long = new FormData();
    long.append('languages', 'eng+'.repeat(1000));
    long.append('file', new Blob([page]), 'a.png');
    await refused(await fetch(`${stack.url}/v1/jobs`, { method: 'POST', body: long }), 400, 'invalid_request');
  });

  test('an upload declared larger than any valid submission is answered 413 before it is read', async () => {
    const declared = 256 * 1024 * 1024;
    const { status, type, sent } = await new Promise<{ status: number; type: string; sent: number }>(
      (resolve, reject) => {
        const request = http.request(`${stack.url}/v1/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'multipart/form-data; boundary=x', 'content-length': declared },
        });
        const chunk = Buffer.alloc(1024 * 1024, 7);
        let sent = 0;
        let answered = false;
        const write = () => {
          while (!answered && sent < declared && request.write(chunk)) sent += chunk.length;
        };
        request.on('drain', write);
        // Writing into a connection the server has closed fails: expected once it has answered.
        request.on('error', (err) => (answered ? undefined : reject(err)));
        request.on('response', (response) => {
          answered = true;
          response.resume();
          resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), sent });
        });
        write();
      },
    );
    assert.equal(status, 413);
    assert.match(type, /^application\/problem\+json/);
    assert.ok(sent < declared / 8, `${sent} of ${declared} bytes were sent before the answer`);
    assert.deepEqual(await readdir(uploadsDir(stack.config.DATA_DIR)), []);
  });
});

/** A PNG whose header declares `width`×`height`, with a single byte of image data. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

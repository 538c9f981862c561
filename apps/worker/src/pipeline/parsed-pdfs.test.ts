import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PDFDocument } from 'pdf-lib';
import { ParsedPdfs } from './parsed-pdfs.js';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAG7buVgAAAABJRU5ErkJggg==',
  'base64',
);

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-parsed-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** A two-page PDF: page 1 draws an image at y 500 (from the bottom), page 2 at y 100. */
async function twoPages(name: string): Promise<string> {
  const doc = await PDFDocument.create();
  const image = await doc.embedPng(PNG);
  doc.addPage([600, 800]).drawImage(image, { x: 100, y: 500, width: 200, height: 100 });
  doc.addPage([600, 800]).drawImage(image, { x: 100, y: 100, width: 200, height: 100 });
  const file = path.join(dir, name);
  await writeFile(file, await doc.save());
  return file;
}

const tops = (placed: Array<{ y0: number }> | undefined) => placed?.map((rect) => Math.round(rect.y0));

test('a document kept parsed places its other pages from that parse, its file no longer read', async () => {
  const pdfs = new ParsedPdfs();
  const file = await twoPages('kept.pdf');
  assert.deepEqual(tops(await pdfs.placements('doc/0.pdf', file, 1)), [200]);
  await rm(file);
  assert.deepEqual(tops(await pdfs.placements('doc/0.pdf', file, 2)), [600]);
  // Without a key nothing is kept: the file is read again, and it is gone.
  await assert.rejects(pdfs.placements(undefined, file, 2), { code: 'ENOENT' });
});

test('pages asking at once are each placed, from a document then kept', async () => {
  const pdfs = new ParsedPdfs();
  const file = await twoPages('together.pdf');
  const [first, second] = [pdfs.placements('doc/1.pdf', file, 1), pdfs.placements('doc/1.pdf', file, 2)];
  assert.deepEqual([tops(await first), tops(await second)], [[200], [600]]);
  await rm(file);
  assert.deepEqual(tops(await pdfs.placements('doc/1.pdf', file, 1)), [200]);
});

test('past the budget the oldest document is dropped, and a file larger than it is never kept', async () => {
  const [a, b] = [await twoPages('a.pdf'), await twoPages('b.pdf')];
  const { size } = await stat(a);
  const pdfs = new ParsedPdfs(size + 1);
  await pdfs.placements('a/0.pdf', a, 1);
  await pdfs.placements('b/0.pdf', b, 1);
  await rm(a);
  await rm(b);
  await assert.rejects(pdfs.placements('a/0.pdf', a, 2), { code: 'ENOENT' });
  assert.deepEqual(tops(await pdfs.placements('b/0.pdf', b, 2)), [600]);

  const small = new ParsedPdfs(size - 1);
  const c = await twoPages('c.pdf');
  await small.placements('c/0.pdf', c, 1);
  await rm(c);
  await assert.rejects(small.placements('c/0.pdf', c, 2), { code: 'ENOENT' });
});

test('a file that cannot be read is not kept: the next page reads it again', async () => {
  const pdfs = new ParsedPdfs();
  const file = path.join(dir, 'late.pdf');
  await assert.rejects(pdfs.placements('doc/2.pdf', file, 1), { code: 'ENOENT' });
  assert.equal(await twoPages('late.pdf'), file);
  assert.deepEqual(tops(await pdfs.placements('doc/2.pdf', file, 1)), [200]);
});

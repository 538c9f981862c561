import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { degrees, PDFDocument, PDFName } from 'pdf-lib';
import { placeImages, type PlacedRect } from './image-placement.js';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAG7buVgAAAABJRU5ErkJggg==',
  'base64',
);

async function placed(build: (doc: PDFDocument) => Promise<void>) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-place-'));
  try {
    const doc = await PDFDocument.create();
    await build(doc);
    const file = path.join(dir, 'page.pdf');
    await writeFile(file, await doc.save());
    return await placeImages(file, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const rounded = (rects: PlacedRect[] = []) =>
  rects.map(({ x0, y0, x1, y1 }) => ({
    x0: Math.round(x0),
    y0: Math.round(y0),
    x1: Math.round(x1),
    y1: Math.round(y1),
  }));

test('images are placed where they are drawn, from the top left of the page as displayed', async () => {
  const result = await placed(async (doc) => {
    const page = doc.addPage([600, 800]);
    const image = await doc.embedPng(PNG);
    page.drawImage(image, { x: 100, y: 500, width: 200, height: 100 });
    page.drawImage(image, { x: 0, y: 0, width: 600, height: 50 });
  });
  assert.deepEqual(rounded(result), [
    { x0: 100, y0: 200, x1: 300, y1: 300 },
    { x0: 0, y0: 750, x1: 600, y1: 800 },
  ]);
});

test('an image inside a form inside a form is placed through both matrices; /Rotate turns the places', async () => {
  const result = await placed(async (doc) => {
    const page = doc.addPage([600, 800]);
    const image = await doc.embedPng(PNG);
    const { context } = doc;
    const inner = context.register(
      context.stream('q 100 0 0 50 0 0 cm /Im Do Q', {
        Type: 'XObject',
        Subtype: 'Form',
        BBox: [0, 0, 1000, 1000],
        Matrix: [2, 0, 0, 2, 10, 20],
        Resources: { XObject: { Im: image.ref } },
      }),
    );
    const outer = context.register(
      context.stream('/Inner Do', {
        Type: 'XObject',
        Subtype: 'Form',
        BBox: [0, 0, 1000, 1000],
        Resources: { XObject: { Inner: inner } },
      }),
    );
    page.node.setXObject(PDFName.of('Outer'), outer);
    page.node.addContentStream(context.register(context.stream('q 1 0 0 1 50 100 cm /Outer Do Q')));
    page.setRotation(degrees(90));
  });
  // In user space: x 60…260, y 120…220. Turned 90° clockwise: the page is 800 wide, 600 high.
  assert.deepEqual(rounded(result), [{ x0: 120, y0: 60, x1: 220, y1: 260 }]);
});

test('inline images are placed; a page that is not a PDF page is not walked', async () => {
  const result = await placed((doc) => {
    const page = doc.addPage([600, 800]);
    page.node.addContentStream(
      doc.context.register(
        doc.context.stream('q 300 0 0 400 0 0 cm BI /W 1 /H 1 /CS /G /BPC 8 ID \x80 EI Q (a string with EI inside) Tj'),
      ),
    );
    return Promise.resolve();
  });
  assert.deepEqual(rounded(result), [{ x0: 0, y0: 400, x1: 300, y1: 800 }]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-place-'));
  try {
    await writeFile(path.join(dir, 'bad.pdf'), '%PDF-1.4 not really');
    assert.equal(await placeImages(path.join(dir, 'bad.pdf'), 1), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { DocumentState, PageResult } from '@pagefleet/shared';
import { LayerWindows } from '../apps/worker/src/pipeline/layer-windows.js';
import { cer, scannedPage, textPage, wordLines } from '../scripts/lib/fixtures.js';
import { figure, layeredPdf } from '../scripts/lib/text-pdfs.js';
import { until } from '../scripts/lib/until.js';
import { scrape, valueOf } from './support/prometheus.js';
import { finished, startStack, type Stack } from './support/stack.js';

const TEXT = [wordLines(1, 10), wordLines(2, 10)];
const OCRED = wordLines(5, 36);

/** pdftotext's own text of a page: what a text page must read as, word for word. */
function pdftotext(file: string, page: number): string {
  const n = String(page);
  return spawnSync('pdftotext', ['-f', n, '-l', n, file, '-'], { encoding: 'utf8' }).stdout;
}

describe('text layers: read what is written, OCR what is drawn', () => {
  let stack: Stack;
  let workerPort: number;
  let dir: string;
  let mixed: Buffer;
  const mixedFile = () => path.join(dir, 'mixed.pdf');
  before(async () => {
    stack = await startStack();
    workerPort = (await stack.startWorker()).port;
    dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-layers-'));
    // Born-digital, scanned, a garbage layer over a scan, born-digital turned 90°, a scan already OCRed.
    mixed = await layeredPdf([
      { kind: 'text', lines: TEXT[0] ?? [] },
      { kind: 'scan', image: await scannedPage(3) },
      { kind: 'garbage', image: await scannedPage(4) },
      { kind: 'text', lines: TEXT[1] ?? [], rotate: 90 },
      { kind: 'ocred', image: await scannedPage(5), lines: OCRED },
    ]);
    await writeFile(mixedFile(), mixed);
  });
  after(async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function run(fields: Record<string, string> = {}): Promise<{ doc: DocumentState; pages: PageResult[] }> {
    const response = await stack.submit([{ name: 'mixed.pdf', data: mixed }], { outputs: 'text,json,pdf', ...fields });
    assert.equal(response.status, 202, await response.clone().text());
    const { id } = (await response.json()) as { id: string };
    const doc = await stack.waitFor(id, finished, 120_000);
    const result = (await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).json()) as { pages: PageResult[] };
    return { doc, pages: result.pages };
  }

  test('a mixed PDF: text pages exact and read from their layer, the others OCRed, a searchable PDF of all in order', async () => {
    const { doc, pages } = await run();
    assert.equal(doc.status, 'completed');
    assert.equal(doc.pages, '1-5');
    assert.deepEqual(
      pages.map((page) => page.method),
      ['text', 'ocr', 'ocr', 'text', 'text'],
    );
    for (const page of [1, 4, 5]) {
      const result = pages[page - 1] as PageResult;
      assert.ok(cer(pdftotext(mixedFile(), page), result.text) <= 0.002, `page ${page}: ${result.text.slice(0, 80)}`);
      assert.ok(result.words.every((word) => word.confidence === 100));
    }
    assert.equal(cer(TEXT[0]?.join('\n') ?? '', pages[0]?.text ?? ''), 0, 'the text the PDF carries, exactly');
    assert.equal(cer(OCRED.join('\n'), pages[4]?.text ?? ''), 0, "the OCR layer's text, not a second OCR");
    // The scan and the page whose layer is garbage are read by OCR.
    assert.ok(cer(wordLines(3, 36).join('\n'), pages[1]?.text ?? '') < 0.05);
    assert.ok(cer(wordLines(4, 36).join('\n'), pages[2]?.text ?? '') < 0.05, pages[2]?.text.slice(0, 80));
    assert.ok('extract' in (pages[0]?.durations ?? {}) && !('rasterize' in (pages[0]?.durations ?? {})));

    // The searchable PDF: every page in order; text pages are the input's own (one layer, no image).
    const pdf = Buffer.from(await (await fetch(`${stack.url}/v1/jobs/${doc.id}/pdf`)).arrayBuffer());
    const out = path.join(dir, `${doc.id}.pdf`);
    await writeFile(out, pdf);
    assert.match(spawnSync('pdfinfo', [out], { encoding: 'utf8' }).stdout, /^Pages:\s+5$/m);
    assert.equal(pdftotext(out, 1), pdftotext(mixedFile(), 1));
    assert.equal(pdftotext(out, 4), pdftotext(mixedFile(), 4));
    const images = spawnSync('pdfimages', ['-list', out], { encoding: 'utf8' }).stdout;
    assert.deepEqual(
      [...images.matchAll(/^\s+(\d+)\s+\d+\s+image/gm)].map((match) => Number(match[1])),
      [2, 3, 5],
      'text pages were not re-rendered',
    );
    assert.ok(cer(wordLines(3, 36).join('\n'), pdftotext(out, 2)) < 0.05, 'OCRed pages carry their text layer');
    // A text page's own PDF: that page of the input, and nothing else of it.
    const single = path.join(dir, `${doc.id}-4.pdf`);
    await writeFile(
      single,
      Buffer.from(await (await fetch(`${stack.url}/v1/jobs/${doc.id}/pages/4?format=pdf`)).arrayBuffer()),
    );
    assert.match(spawnSync('pdfinfo', [single], { encoding: 'utf8' }).stdout, /^Pages:\s+1$/m);
    assert.equal(pdftotext(single, 1), pdftotext(mixedFile(), 4));
  });

  test('pages with pictures: the layer read exactly, the words inside images OCRed once, in reading order', async () => {
    // Every image is decoded in the worker, page 5's with its alpha channel (a soft mask in the PDF).
    const panel = ['Quarterly harvest report', 'apples oranges pears'];
    const chart = ['Rainfall by season', 'Spring', 'Summer', 'Autumn', 'Winter'];
    const illustrated = await layeredPdf([
      {
        kind: 'illustrated',
        lines: wordLines(7, 8),
        figures: [{ image: await figure('words', panel), caption: 'Figure 1: a panel' }],
      },
      {
        kind: 'illustrated',
        lines: wordLines(8, 8),
        figures: [{ image: await figure('chart', chart), caption: 'Figure 2: a chart' }],
      },
      {
        kind: 'illustrated',
        lines: wordLines(9, 8),
        figures: [{ image: await figure('picture'), caption: 'Figure 3: a picture' }],
      },
      {
        kind: 'illustrated',
        lines: wordLines(10, 4),
        figures: [
          { image: await figure('words', panel), caption: 'Figure 4: a panel' },
          { image: await figure('chart', chart), caption: 'Figure 5: a chart' },
        ],
      },
      {
        kind: 'illustrated',
        lines: wordLines(11, 8),
        figures: [
          {
            image: await sharp(await figure('words', panel))
              .ensureAlpha(0.9)
              .png()
              .toBuffer(),
            caption: 'Figure 6: a panel, translucent',
          },
        ],
      },
    ]);
    const file = path.join(dir, 'illustrated.pdf');
    await writeFile(file, illustrated);
    const regionsRead = async () => {
      const samples = await scrape(`http://127.0.0.1:${workerPort}`);
      const count = (by: string) => valueOf(samples, 'pagefleet_image_regions_read_total', { by });
      return { thread: count('thread'), command: count('command') };
    };
    // The threads start beside the worker's first pages; until they have, the command reads.
    await until('the region threads to start', async () => {
      const samples = await scrape(`http://127.0.0.1:${workerPort}`);
      const planned = valueOf(samples, 'pagefleet_image_region_threads', { state: 'planned' });
      return planned > 0 && valueOf(samples, 'pagefleet_image_region_threads', { state: 'started' }) === planned
        ? true
        : undefined;
    });
    const readBefore = await regionsRead();
    const response = await stack.submit([{ name: 'illustrated.pdf', data: illustrated }], {
      outputs: 'text,json,pdf,hocr',
    });
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };
    const doc = await stack.waitFor(id, finished, 120_000);
    assert.equal(doc.status, 'completed');
    const { pages } = (await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).json()) as { pages: PageResult[] };
    assert.deepEqual(
      pages.map((page) => page.method),
      ['text+ocr', 'text+ocr', 'text', 'text+ocr', 'text+ocr'],
    );
    assert.deepEqual(
      pages.map((page) =>
        Object.keys(page.durations ?? {}).filter((stage) => stage === 'decode' || stage === 'rasterize'),
      ),
      [['decode'], ['decode'], ['decode'], ['decode'], ['decode']],
      'decoded here, none rendered',
    );
    // This machine's plan keeps a thread per slot for them: no page waits, none goes to the command.
    const read = await regionsRead();
    assert.deepEqual(
      { thread: read.thread - readBefore.thread, command: read.command - readBefore.command },
      {
        thread: 5,
        command: 0,
      },
    );
    const tokens = (text: string) => text.split(/\s+/).filter(Boolean);
    // Per page, the text drawn in each of its figures, in order.
    for (const [index, figures] of [[panel], [chart], [], [panel, chart], [panel]].entries()) {
      const result = pages[index] as PageResult;
      const layer = tokens(pdftotext(file, index + 1));
      const ocr = result.words.filter((word) => word.origin === 'ocr').map((word) => word.text);
      assert.deepEqual(
        result.words.filter((word) => word.origin !== 'ocr').map((word) => word.text),
        layer,
        'every word of the layer, exactly, once',
      );
      const drawn = figures.map((lines) => tokens(lines.join(' ')));
      assert.ok(cer(drawn.flat().join(' '), ocr.join(' ')) <= 0.05, `page ${index + 1}: ${ocr.join(' ')}`);
      // The text is the layer's exactly, with each image's words as a paragraph before its caption.
      const all = tokens(result.text);
      let from = 0;
      for (const run of drawn) {
        const words = ocr.splice(0, run.length);
        const at = all.findIndex((_token, i) => i >= from && words.every((text, j) => all[i + j] === text));
        assert.ok(at >= 0, result.text);
        all.splice(at, words.length);
        assert.equal(all[at], 'Figure', result.text);
        from = at;
      }
      assert.deepEqual(all, layer);
      assert.ok(result.words.filter((word) => word.origin !== 'ocr').every((word) => word.confidence === 100));
    }
    assert.equal(pages[2]?.text, pdftotext(file, 3).replace(/\f$/, ''), 'a picture without text: the layer alone');

    // The searchable PDF: the page as it was (its one image, not a render) and its text once.
    const out = path.join(dir, `${id}.pdf`);
    await writeFile(out, Buffer.from(await (await fetch(`${stack.url}/v1/jobs/${id}/pdf`)).arrayBuffer()));
    const images = spawnSync('pdfimages', ['-list', out], { encoding: 'utf8' }).stdout;
    assert.deepEqual(
      [...images.matchAll(/^\s+(\d+)\s+\d+\s+image/gm)].map((match) => Number(match[1])),
      [1, 2, 3, 4, 4, 5],
    );
    for (const index of [0, 1, 3, 4]) {
      const sorted = (list: string[]) => [...list].sort().join(' ');
      assert.equal(sorted(tokens(pdftotext(out, index + 1))), sorted(tokens(pages[index]?.text ?? '')));
    }
    const hocr = await (await fetch(`${stack.url}/v1/jobs/${id}/pages/2?format=hocr`)).text();
    assert.match(hocr, /ocrx_word[^>]*>Rainfall</);
  });

  test('a font that maps its codes to the wrong letters is OCRed, and reads as it is drawn', async () => {
    const pdf = await layeredPdf([
      { kind: 'text', lines: wordLines(11, 12) },
      { kind: 'shifted', lines: wordLines(12, 12) },
    ]);
    const file = path.join(dir, 'shifted.pdf');
    await writeFile(file, pdf);
    assert.ok(cer(wordLines(12, 12).join('\n'), pdftotext(file, 2)) > 0.5, 'the layer reads other letters');
    const response = await stack.submit([{ name: 'shifted.pdf', data: pdf }], { outputs: 'json' });
    const { id } = (await response.json()) as { id: string };
    assert.equal((await stack.waitFor(id, finished, 120_000)).status, 'completed');
    const { pages } = (await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).json()) as { pages: PageResult[] };
    assert.deepEqual(
      pages.map((page) => page.method),
      ['text', 'ocr'],
    );
    assert.ok(cer(wordLines(12, 12).join('\n'), pages[1]?.text ?? '') <= 0.05, pages[1]?.text.slice(0, 80));
  });

  test('word boxes of text pages are in the pixels of the page at the job DPI, turned pages included', async () => {
    const { pages } = await run({ dpi: '150' });
    for (const result of [pages[0], pages[3]] as PageResult[]) {
      assert.equal(result.dpi, 150);
      assert.ok(result.words.length > 50);
      for (const { bbox } of result.words) {
        assert.ok(bbox.x0 >= 0 && bbox.y0 >= 0 && bbox.x1 <= (result.width ?? 0) && bbox.y1 <= (result.height ?? 0));
        assert.ok(bbox.x1 > bbox.x0 && bbox.y1 > bbox.y0);
      }
    }
    // A letter page at 150 DPI: 1275 × 1650; turned 90°, 1650 × 1275 as displayed and rendered.
    assert.deepEqual([pages[0]?.width, pages[0]?.height], [1275, 1650]);
    assert.deepEqual([pages[3]?.width, pages[3]?.height], [1650, 1275]);
    // The first word starts where it was drawn: 72 pt from the left edge, 1 inch = 150 px.
    assert.ok(Math.abs((pages[0]?.words[0]?.bbox.x0 ?? 0) - 150) <= 2, JSON.stringify(pages[0]?.words[0]));
  });

  test('forceOcr=true OCRs every page, text layers included', async () => {
    const { pages } = await run({ forceOcr: 'true' });
    assert.deepEqual(
      pages.map((page) => page.method),
      ['ocr', 'ocr', 'ocr', 'ocr', 'ocr'],
    );
    assert.ok(cer(TEXT[0]?.join('\n') ?? '', pages[0]?.text ?? '') < 0.05);
    assert.ok(pages[0]?.words.some((word) => word.confidence < 100));
  });

  test('pages=: the selected pages keep their own numbers, in order; /text joins them', async () => {
    const { doc, pages } = await run({ pages: '4-,1' });
    assert.equal(doc.pageCount, 3);
    assert.equal(doc.pages, '1,4-5');
    assert.deepEqual(
      pages.map((page) => [page.page, page.method]),
      [
        [1, 'text'],
        [4, 'text'],
        [5, 'text'],
      ],
    );
    const text = await (await fetch(`${stack.url}/v1/jobs/${doc.id}/text`)).text();
    assert.deepEqual(
      text.split('\f').map((page) => page.trim()),
      [pages[0]?.text.trim(), pages[1]?.text.trim(), pages[2]?.text.trim()],
    );
    assert.equal((await fetch(`${stack.url}/v1/jobs/${doc.id}/pages/4`)).status, 200);
    assert.equal((await fetch(`${stack.url}/v1/jobs/${doc.id}/pages/2`)).status, 400);
  });

  test("/text joins a long document's pages in order, each exactly as its page reads", async () => {
    // More pages than the document job reads at once, and than a window of text layers holds.
    const lines = Array.from({ length: 37 }, (_, p) => wordLines(200 + p, 2));
    const response = await stack.submit([
      { name: 'long.pdf', data: await layeredPdf(lines.map((page) => ({ kind: 'text' as const, lines: page }))) },
    ]);
    const { id } = (await response.json()) as { id: string };
    await stack.waitFor(id, finished, 120_000);
    const { pages } = (await (await fetch(`${stack.url}/v1/jobs/${id}/result?limit=100`)).json()) as {
      pages: PageResult[];
    };
    const text = await (await fetch(`${stack.url}/v1/jobs/${id}/text`)).text();
    assert.deepEqual(
      text.split('\f'),
      pages.map((page) => page.text),
    );
    assert.deepEqual(
      text.split('\f').map((page) => page.split('\n')[0]),
      lines.map((page) => page[0]),
    );
  });

  test('pages= over several files counts their pages in upload order', async () => {
    const png = await textPage(['An image page after the PDF.']);
    const response = await stack.submit(
      [
        { name: 'mixed.pdf', data: mixed },
        { name: 'b.png', data: png },
      ],
      { pages: '6' },
    );
    assert.equal(response.status, 202);
    const { id, pageCount } = (await response.json()) as { id: string; pageCount: number };
    assert.equal(pageCount, 1);
    await stack.waitFor(id, finished);
    const page = (await (await fetch(`${stack.url}/v1/jobs/${id}/pages/6`)).json()) as PageResult;
    assert.equal(page.method, 'ocr');
    assert.match(page.text, /image page after/);
  });

  test('bad pages= is 400, a page past the end 422, both problem+json, nothing queued', async () => {
    for (const [pages, status, code] of [
      ['1-x', 400, 'invalid_request'],
      ['3-1', 400, 'invalid_request'],
      ['0', 400, 'invalid_request'],
      ['6', 422, 'page_out_of_range'],
      ['2,9-', 422, 'page_out_of_range'],
    ] as const) {
      const response = await stack.submit([{ name: 'mixed.pdf', data: mixed }], { pages });
      assert.equal(response.status, status, pages);
      assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal(((await response.json()) as { code: string }).code, code, pages);
    }
    assert.equal((await stack.submit([{ name: 'a.pdf', data: mixed }], { forceOcr: 'maybe' })).status, 400);
  });
});

describe('text layers of the corpus (CORPUS_DIR)', () => {
  const corpus = process.env.CORPUS_DIR;
  let stack: Stack;
  before(async () => {
    if (!corpus) return;
    stack = await startStack();
    await stack.startWorker();
  });
  after(() => stack?.stop());

  // file → the method of each page: born-digital read, an OCRed scan read from its layer, an
  // unmapped Type 3 font and a vector drawing OCRed.
  const cases: Array<[string, Array<'text' | 'ocr'>]> = [
    ['pdfs/pypdf_multicolumn.pdf', ['text', 'text', 'text']],
    ['pdfs/ocrmypdf_graph_ocred.pdf', ['text']],
    ['pdfs/ocrmypdf_type3_font_nomapping.pdf', ['ocr']],
    ['pdfs/ocrmypdf_vector.pdf', ['ocr']],
    ['pdfs/pypdf_habibi-rotated.pdf', ['text', 'text', 'text', 'text']],
  ];
  test('pages of a large born-digital PDF go into the searchable PDF with their own resources only', async (t) => {
    if (!corpus) {
      t.skip('CORPUS_DIR is not set');
      return;
    }
    const input = await readFile(path.join(corpus, 'pdfs/pypdf_GeoTopo-komprimiert.pdf'));
    const response = await stack.submit([{ name: 'geotopo.pdf', data: input }], { pages: '10-12', outputs: 'pdf' });
    const { id } = (await response.json()) as { id: string };
    assert.equal((await stack.waitFor(id, finished, 120_000)).status, 'completed');
    const pdf = Buffer.from(await (await fetch(`${stack.url}/v1/jobs/${id}/pdf`)).arrayBuffer());
    // Three of 117 pages: a copy of the whole document's objects per page would be 3 × 1.8 MB.
    assert.ok(pdf.length < input.length / 4, `${pdf.length} bytes from a ${input.length}-byte input`);
  });

  for (const [file, methods] of cases) {
    test(`${file}: ${methods.join(', ')}`, async (t) => {
      if (!corpus) {
        t.skip('CORPUS_DIR is not set');
        return;
      }
      const data = await readFile(path.join(corpus, file));
      const response = await stack.submit([{ name: path.basename(file), data }]);
      assert.equal(response.status, 202);
      const { id } = (await response.json()) as { id: string };
      await stack.waitFor(id, finished, 120_000);
      const { pages } = (await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).json()) as { pages: PageResult[] };
      assert.deepEqual(
        pages.map((page) => page.method),
        methods,
      );
      for (const page of pages.filter((p) => p.method === 'text')) {
        assert.ok(cer(pdftotext(path.join(corpus, file), page.page), page.text) <= 0.002, `page ${page.page}`);
        for (const { bbox } of page.words) assert.ok(bbox.x1 <= (page.width ?? 0) && bbox.y1 <= (page.height ?? 0));
      }
    });
  }
});

describe('text layers read a window of pages at a time', () => {
  test('a window gives the same words, boxes, text and images as page-by-page reading, on every corpus PDF', async (t) => {
    const corpus = process.env.CORPUS_DIR;
    if (!corpus) {
      t.skip('CORPUS_DIR is not set');
      return;
    }
    const never = new AbortController().signal;
    for (const name of (await readdir(path.join(corpus, 'pdfs'))).filter((file) => file.endsWith('.pdf'))) {
      const file = path.join(corpus, 'pdfs', name);
      const info = spawnSync('pdfinfo', [file], { encoding: 'utf8' });
      const pages = Number(/^Pages:\s+(\d+)/m.exec(info.stdout)?.[1] ?? 0);
      const windowed = new LayerWindows(16, 2);
      const alone = new LayerWindows(1, 1);
      for (let page = 1; page <= pages; page++) {
        assert.deepEqual(
          await windowed.read(name, file, page, never),
          await alone.read(name, file, page, never),
          `${name} page ${page}`,
        );
      }
    }
  });

  test("a window's other pages come from memory: the file is read once per window", async () => {
    const file = path.join(os.tmpdir(), `pagefleet-window-${process.pid}.pdf`);
    await writeFile(
      file,
      await layeredPdf(Array.from({ length: 5 }, (_, p) => ({ kind: 'text' as const, lines: wordLines(p, 3) }))),
    );
    const never = new AbortController().signal;
    const layers = new LayerWindows(4, 2);
    try {
      assert.match((await layers.read('doc', file, 1, never)).text, new RegExp(wordLines(0, 1)[0] ?? ''));
    } finally {
      await rm(file);
    }
    // Pages 2-4 were read with page 1; page 5 starts a window of its own, and the file is gone.
    for (const page of [2, 3, 4]) {
      assert.match((await layers.read('doc', file, page, never)).text, new RegExp(wordLines(page - 1, 1)[0] ?? ''));
    }
    await assert.rejects(layers.read('doc', file, 5, never));
  });

  test('a window whose children write more than its bytes is not kept: its pages are read alone, the same', async () => {
    const file = path.join(os.tmpdir(), `pagefleet-window-bytes-${process.pid}.pdf`);
    await writeFile(
      file,
      await layeredPdf(Array.from({ length: 3 }, (_, p) => ({ kind: 'text' as const, lines: wordLines(p, 20) }))),
    );
    const never = new AbortController().signal;
    try {
      const small = new LayerWindows(4, 2, 1000);
      const alone = new LayerWindows(1, 1);
      for (const page of [1, 2, 3]) {
        assert.deepEqual(await small.read('doc', file, page, never), await alone.read('doc', file, page, never));
      }
      await rm(file);
      // Nothing was kept: with the file gone, its pages cannot be read any more.
      await assert.rejects(small.read('doc', file, 2, never));
    } finally {
      await rm(file, { force: true });
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { createLogger, loadConfig, pageJobId, QUEUES, wordResultSchema } from '@pagefleet/shared';
import { createOcrEngine, createPaddleEngine } from '../apps/worker/src/pipeline/engine.js';
import { toGray } from '../apps/worker/src/pipeline/gray.js';
import type { OcrEngine } from '../apps/worker/src/pipeline/ocr.js';
import { OrientationDetector } from '../apps/worker/src/pipeline/orientation.js';
import { AUTO_PADDLE_BELOW, readUpright, readWithEngine, type StageRunner } from '../apps/worker/src/pipeline/page.js';
import type { PreparedPage } from '../apps/worker/src/pipeline/preprocess.js';
import { cer, FIXTURE_DPI, textPage, wordLines } from '../scripts/lib/fixtures.js';
import { pdfText } from './support/pdf-text.js';
import { finished, startStack, type Stack } from './support/stack.js';

const never = new AbortController().signal;
const plain: StageRunner = (_name, work) => work(never);
const config = loadConfig({ LOG_LEVEL: 'silent' });
const log = createLogger(config, 'test');

const prepared = async (png: Buffer, degrees = 0): Promise<PreparedPage> => ({
  ...(await toGray(sharp(png).rotate(degrees))),
  dpi: FIXTURE_DPI,
});

/** Two columns of running text, their rows aligned, as a 300-DPI page. */
async function twoColumnPage(left: string[], right: string[]): Promise<Buffer> {
  const row = (x: number, lines: string[]) =>
    lines
      .map((line, i) => `<text x="${x}" y="${200 + i * 70}" font-family="DejaVu Serif" font-size="36">${line}</text>`)
      .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="2550" height="${300 + left.length * 70}"><rect width="100%" height="100%" fill="#fff"/>${row(120, left)}${row(1330, right)}</svg>`;
  return sharp(Buffer.from(svg), { density: 72 }).png().toBuffer();
}

const paddle = createPaddleEngine(config);
const engines: Array<[string, OcrEngine | undefined]> = [
  ['tesseract', createOcrEngine(config, 1, log)],
  ['paddle', paddle],
];

for (const [name, engine] of engines) {
  describe(`the engine contract: ${name}`, { skip: engine ? false : 'the PaddleOCR models are not installed' }, () => {
    const ocr = engine as OcrEngine;
    const orientation = new OrientationDetector();
    after(() => Promise.all([ocr.close(), orientation.close()]));

    test('reads a generated page: words with confidences and boxes inside the page, hOCR, TSV and PDF from them', async () => {
      const lines = wordLines(11, 8, 7);
      const page = await prepared(await textPage(lines));
      const out = await ocr.recognize(page, 'eng', never, ['hocr', 'tsv', 'pdf']);
      assert.ok(cer(lines.join('\n'), out.text) < 0.05, out.text);
      assert.ok(out.words.length >= 50);
      for (const word of out.words) {
        wordResultSchema.parse(word);
        assert.ok(word.bbox.x0 >= 0 && word.bbox.x0 < word.bbox.x1 && word.bbox.x1 <= page.width, JSON.stringify(word));
        assert.ok(
          word.bbox.y0 >= 0 && word.bbox.y0 < word.bbox.y1 && word.bbox.y1 <= page.height,
          JSON.stringify(word),
        );
      }
      const first = out.words[0];
      assert.equal(first?.text, lines[0]?.split(' ')[0]);
      assert.match(out.formats.hocr?.toString() ?? '', new RegExp(`class=['"]ocrx_word['"][^>]*>${first?.text}<`));
      assert.match(out.formats.tsv?.toString() ?? '', new RegExp(`\\t${first?.text}\\n`));
      // The searchable PDF: one page, the words searchable in reading order.
      const pdf = await pdfText(out.formats.pdf ?? Buffer.alloc(0));
      assert.equal(pdf.pages, 1);
      assert.ok(cer(lines.join('\n'), pdf.text) < 0.05, pdf.text);
    });

    test('a two-column page reads column after column', async () => {
      const left = wordLines(21, 6, 5);
      const right = wordLines(22, 6, 5);
      const out = await ocr.recognize(await prepared(await twoColumnPage(left, right)), 'eng', never);
      assert.ok(cer([...left, ...right].join('\n'), out.text) < 0.08, out.text);
    });

    test('a page turned 180° is read upright', async () => {
      const lines = wordLines(31, 8, 7);
      const read = await readUpright(
        await prepared(await textPage(lines), 180),
        { languages: 'eng', formats: [] },
        { ocr, orientation },
        plain,
      );
      assert.ok(cer(lines.join('\n'), read.ocr.text) < 0.05, read.ocr.text);
      // The words' boxes are those of the page as returned: upright.
      assert.ok((read.ocr.words[0]?.bbox.y0 ?? Infinity) < read.page.height / 2);
    });
  });
}

test("auto keeps Tesseract's reading when it is confident, and reads again with PaddleOCR when not", async () => {
  const page = await prepared(await textPage(['x']));
  const reading = (confidence: number): OcrEngine => ({
    recognize: () => Promise.resolve({ text: String(confidence), confidence, words: [], blocks: [], formats: {} }),
    warmUp: () => Promise.resolve(),
    close: () => Promise.resolve(),
  });
  const job = { languages: 'eng', formats: [], engine: 'auto' as const };
  const sure = await readWithEngine(
    page,
    job,
    { engines: { tesseract: reading(AUTO_PADDLE_BELOW), paddle: reading(99) }, orientation: undefined },
    plain,
  );
  assert.equal(sure.engine, 'tesseract');
  const unsure = await readWithEngine(
    page,
    job,
    { engines: { tesseract: reading(AUTO_PADDLE_BELOW - 1), paddle: reading(99) }, orientation: undefined },
    plain,
  );
  assert.deepEqual([unsure.engine, unsure.ocr.text], ['paddle', '99']);
  await assert.rejects(
    readWithEngine(
      page,
      { ...job, engine: 'paddle' },
      { engines: { tesseract: reading(90) }, orientation: undefined },
      plain,
    ),
    /no room for PaddleOCR/,
  );
});

describe('engine per submission', { skip: paddle ? false : 'the PaddleOCR models are not installed' }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => Promise.all([stack.stop(), paddle?.close()]));

  test('an unknown engine is a 400', async () => {
    const response = await stack.submit([{ name: 'page.png', data: await textPage(['x']) }], { engine: 'easyocr' });
    assert.equal(response.status, 400);
    assert.match(response.headers.get('content-type') ?? '', /problem\+json/);
  });

  test('paddle pages wait for a worker with room for the model; the page says which engine read it', async () => {
    const lines = wordLines(41, 6, 6);
    const image = await textPage(lines);
    const response = await stack.submit([{ name: 'page.png', data: image }], { engine: 'paddle' });
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };
    const queued = stack.api.dispatch.queue(QUEUES.pagesPaddle);
    assert.ok(await queued.getJob(pageJobId(id, 1)), 'queued on pages-paddle');
    // A worker that planned no PaddleOCR slot never takes it.
    await stack.startWorker({ WORKER_QUEUES: 'pages,pages-large' });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.match(await queued.getJobState(pageJobId(id, 1)), /waiting|prioritized/);

    await stack.startWorker({ WORKER_QUEUES: 'pages-paddle', WORKER_CONCURRENCY: '1' });
    const done = await stack.waitFor(id, finished, 120_000);
    assert.equal(done.status, 'completed');
    const result = (await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).json()) as {
      pages: Array<{ engine?: string; method?: string; text: string }>;
    };
    assert.deepEqual([result.pages[0]?.method, result.pages[0]?.engine], ['ocr', 'paddle']);
    assert.ok(cer(lines.join('\n'), result.pages[0]?.text ?? '') < 0.05);
  });
});

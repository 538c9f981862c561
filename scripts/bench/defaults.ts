// `npm run bench:defaults`: the measurements behind pagefleet's OCR defaults (docs/benchmarks.md).
// On page images with ground truth (generated scans, two skewed, two turned, and CORPUS_DIR's English
// accuracy pages) it compares, one change at a time against the pipeline as it was (best_int, nothing
// else): the fast model, sharp's normalize and threshold, Tesseract's deskew (rotateAuto), rotation by
// OSD, the native engine, and then the defaults chosen. On PDFs (generated scans, born-digital text at 24 and 9 points,
// CORPUS_DIR's linn brochure) it compares 200 against 300 DPI, and the two rasterizers. Every figure is CER/WER over all pages and seconds per page on one slot.
// Writes docs/defaults.json.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp, { type Sharp } from 'sharp';
import { createLogger, loadConfig, onPath, SYSTEM_TESSDATA, type OcrModel } from '@pagefleet/shared';
import { NativeOcr } from '../../apps/worker/src/pipeline/native-ocr.js';
import { OcrPool } from '../../apps/worker/src/pipeline/ocr.js';
import { OrientationDetector, rotatePage } from '../../apps/worker/src/pipeline/orientation.js';
import { readUpright, ROTATE_BELOW_CONFIDENCE, type StageRunner } from '../../apps/worker/src/pipeline/page.js';
import { sharpOf, toGray } from '../../apps/worker/src/pipeline/gray.js';
import { preprocess, type PreparedPage } from '../../apps/worker/src/pipeline/preprocess.js';
import { pdf2picRasterizer, popplerRasterizer } from '../../apps/worker/src/pipeline/rasterize.js';
import { pdfOf, scannedPage, textPdf, wordLines } from '../lib/fixtures.js';
import { characterErrors, rate, wordErrors, type ErrorCount } from '../lib/error-rates.js';
import { corpusTruthPages, generatedTruthPages, type TruthPage } from './lib/truth-pages.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-defaults-'));
const config = loadConfig({ LOG_LEVEL: 'silent' });
const log = createLogger(config, 'bench');
const signal = new AbortController().signal;

const corpus = process.env.CORPUS_DIR;
const images: TruthPage[] = [...(await generatedTruthPages(work, 4))];
for (const [seed, angle] of [
  [5, 2.5],
  [6, -4],
  [7, 180],
  [8, 270],
] as const) {
  const image = path.join(work, `turned-${seed}.jpg`);
  await sharp(await scannedPage(seed))
    .rotate(angle, { background: '#ececec' })
    .jpeg({ quality: 70 })
    .withMetadata({ density: 300 })
    .toFile(image);
  images.push({ name: `generated scan ${seed} turned ${angle}°`, image, truth: wordLines(seed, 36).join('\n') });
}
if (corpus) images.push(...(await corpusTruthPages(corpus)));
console.log(
  `pagefleet bench:defaults — ${images.length} page images (${corpus ? `generated and ${corpus}` : 'generated; set CORPUS_DIR for the corpus'})`,
);

const pool = (model: OcrModel, deskew: boolean) =>
  new OcrPool({ slots: 1, tessdataDir: undefined, model, deskew, maxPages: 1_000_000, maxHeapBytes: 2 ** 31, log });
const hasFast = existsSync(path.join(SYSTEM_TESSDATA, 'eng.traineddata'));
const pools = {
  before: pool('best_int', false),
  fast: pool('fast', false),
  deskew: pool('best_int', true),
  fastDeskew: pool('fast', true),
};
const native = onPath('tesseract')
  ? new NativeOcr({ tessdataDir: undefined, model: hasFast ? 'fast' : 'best_int' })
  : undefined;
const orientation = new OrientationDetector();
const plain: StageRunner = (_name, work) => work(signal);
const eng = { languages: 'eng', formats: [] };

/** The gray page through one more sharp operation. */
async function transformed(page: PreparedPage, operation: (image: Sharp) => Sharp): Promise<PreparedPage> {
  return { ...(await toGray(operation(await sharpOf(page)))), dpi: page.dpi };
}

interface Read {
  text: string;
  confidence: number;
}
/**
 * Every variant reads the page as the pipeline prepared it (gray, pixel cap) and changes one thing
 * from how pagefleet read pages before these measurements (best_int, nothing else); the last
 * reads it with the defaults chosen from them.
 */
const variants: Record<string, ((page: PreparedPage) => Promise<Read>) | undefined> = {
  'before: best_int only': (page) => pools.before.recognize(page, 'eng', signal),
  'fast model': hasFast ? (page) => pools.fast.recognize(page, 'eng', signal) : undefined,
  'sharp normalize': async (page) =>
    pools.before.recognize(await transformed(page, (image) => image.normalize()), 'eng', signal),
  'sharp threshold 128': async (page) =>
    pools.before.recognize(await transformed(page, (image) => image.threshold(128)), 'eng', signal),
  'deskew (rotateAuto)': (page) => pools.deskew.recognize(page, 'eng', signal),
  'OSD on every page': async (page) => {
    const guess = await orientation.detect(page, signal);
    return pools.before.recognize(guess.degrees === 0 ? page : await rotatePage(page, guess.degrees), 'eng', signal);
  },
  [`OSD below confidence ${ROTATE_BELOW_CONFIDENCE}, kept if better`]: async (page) =>
    (await readUpright(page, eng, { ocr: pools.before, orientation }, plain)).ocr,
  'tesseract.js: fast + deskew + upright check': async (page) =>
    (await readUpright(page, eng, { ocr: hasFast ? pools.fastDeskew : pools.deskew, orientation }, plain)).ocr,
  'native engine, fast': native && ((page) => native.recognize(page, 'eng', signal)),
  'chosen: native engine, fast + upright check':
    native && (async (page) => (await readUpright(page, eng, { ocr: native, orientation }, plain)).ocr),
};

interface Outcome {
  cer: ErrorCount;
  wer: ErrorCount;
  seconds: number;
}
const sum = (counts: ErrorCount[]): ErrorCount => ({
  errors: counts.reduce((n, c) => n + c.errors, 0),
  length: counts.reduce((n, c) => n + c.length, 0),
});
const results: Record<
  string,
  {
    overall: { cer: number; wer: number; secondsPerPage: number };
    pages: Record<string, { cer: number; wer: number; confidence: number }>;
  }
> = {};

async function measure(name: string, pages: Array<{ name: string; truth: string; read: () => Promise<Read> }>) {
  const outcomes: Outcome[] = [];
  const perPage: (typeof results)[string]['pages'] = {};
  for (const page of pages) {
    const started = performance.now();
    const { text, confidence } = await page.read();
    const outcome = {
      cer: characterErrors(page.truth, text),
      wer: wordErrors(page.truth, text),
      seconds: (performance.now() - started) / 1000,
    };
    outcomes.push(outcome);
    perPage[page.name] = { cer: round(rate(outcome.cer)), wer: round(rate(outcome.wer)), confidence };
  }
  const overall = {
    cer: round(rate(sum(outcomes.map((o) => o.cer)))),
    wer: round(rate(sum(outcomes.map((o) => o.wer)))),
    secondsPerPage: round(outcomes.reduce((n, o) => n + o.seconds, 0) / outcomes.length),
  };
  results[name] = { overall, pages: perPage };
  console.log(
    `${name.padEnd(28)} CER ${overall.cer.toFixed(3)}  WER ${overall.wer.toFixed(3)}  ${overall.secondsPerPage.toFixed(2)} s/page`,
  );
}
const round = (value: number) => Math.round(value * 1000) / 1000;

try {
  const prepared = new Map<string, PreparedPage>();
  for (const image of images)
    prepared.set(image.name, await preprocess({ image: image.image, index: 0 }, config.MAX_PAGE_PIXELS));
  // One page first, unmeasured: every pool compiles its engine once.
  const first = prepared.get(images[0]?.name as string) as PreparedPage;
  for (const [name, variant] of Object.entries(variants)) {
    if (variant) await variant(first);
    else console.log(`${name}: skipped (needs Debian's tesseract-ocr and tesseract-ocr-eng)`);
  }
  for (const [name, variant] of Object.entries(variants)) {
    if (!variant) continue;
    await measure(
      name,
      images.map((image) => ({
        name: image.name,
        truth: image.truth,
        read: () => variant(prepared.get(image.name) as PreparedPage),
      })),
    );
  }

  // PDFs: scanned (300-DPI JPEG pages), born-digital (vector text at 24 and 9 points) and, with
  // CORPUS_DIR, a real scanned brochure; rendered as a worker renders them, read with the chosen defaults.
  const pdfs: Array<{ name: string; file: string; truth: string }> = [];
  for (let seed = 11; seed <= 13; seed++) {
    const file = path.join(work, `scan-${seed}.pdf`);
    await writeFile(file, await pdfOf([await scannedPage(seed)]));
    pdfs.push({ name: `scanned PDF ${seed}`, file, truth: wordLines(seed, 36).join('\n') });
  }
  for (const [seed, size, count] of [
    [111, 24, 18],
    [112, 9, 48],
    [113, 6, 60],
  ] as const) {
    const lines = wordLines(seed, count, size === 24 ? 6 : 12);
    const file = path.join(work, `text-${seed}.pdf`);
    await writeFile(file, textPdf(lines, size));
    pdfs.push({ name: `born-digital PDF, ${size} pt`, file, truth: lines.join('\n') });
  }
  if (corpus) {
    const truth = await readFile(path.join(corpus, 'accuracy', 'ocrmypdf_linn.gt.txt'), 'utf8');
    pdfs.push({ name: 'ocrmypdf_linn.pdf', file: path.join(corpus, 'pdfs', 'ocrmypdf_linn.pdf'), truth });
  }
  const rasterizers = {
    poppler: popplerRasterizer(),
    pdf2pic: pdf2picRasterizer(),
  };
  const chosen = { ocr: native ?? (hasFast ? pools.fastDeskew : pools.deskew), orientation };
  for (const [rasterizer, dpi] of [
    ['poppler', 300],
    ['poppler', 200],
    ['pdf2pic', 300],
  ] as const) {
    await measure(
      `${rasterizer} ${dpi} DPI (PDFs)`,
      pdfs.map((pdf) => ({
        name: pdf.name,
        truth: pdf.truth,
        read: async () => {
          const rendered = await rasterizers[rasterizer].render(
            pdf.file,
            1,
            { dpi, maxPixels: config.MAX_PAGE_PIXELS },
            signal,
          );
          return (await readUpright(await preprocess({ rendered }, config.MAX_PAGE_PIXELS), eng, chosen, plain)).ocr;
        },
      })),
    );
  }
} finally {
  await Promise.all([...Object.values(pools).map((each) => each.close()), native?.close(), orientation.close()]);
  await rm(work, { recursive: true, force: true });
}
const report = {
  measuredAt: new Date().toISOString().slice(0, 10),
  cpus: os.availableParallelism(),
  pages: images.length,
  results,
};
await writeFile(path.join(root, 'docs', 'defaults.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log('wrote docs/defaults.json');

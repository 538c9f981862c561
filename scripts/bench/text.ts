// `npm run bench` (second part), or `npm run bench:text` alone: PDFs that carry their text.
// For a born-digital set, an illustrated set, an illustrated book (one document) and a mixed set (generated with known text;
// CORPUS_DIR's born-digital PDFs too when set), the same documents three ways: pagefleet end to end with its defaults
// (text layers read), pagefleet with forceOcr=true (every page OCRed), and pdftotext alone, one
// process per CPU (the limit). Writes docs/text-layer.json and the figures of docs/text-layer.md.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig, pdfInfo } from '@pagefleet/shared';
import { cer } from '../lib/error-rates.js';
import { scannedPage, wordLines } from '../lib/fixtures.js';
import { startRedisServer } from '../lib/redis-server.js';
import { figure, layeredPdf, type LayeredPage } from '../lib/text-pdfs.js';
import { LayerWindows } from '../../apps/worker/src/pipeline/layer-windows.js';
import { writeBenchSection } from './lib/doc-section.js';
import { runFleet, type FleetRun } from './lib/fleet.js';
import { medianBy } from './lib/median.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cpus = os.availableParallelism();
const { values: args } = parseArgs({
  options: {
    documents: { type: 'string', default: '4' },
    'doc-pages': { type: 'string', default: '12' },
    // Only these sets (comma-separated names), and nothing written: for comparing one change.
    sets: { type: 'string' },
    // Runs of each set, default and forceOcr=true in turn; the medians are reported (run to run,
    // this machine's times move by a quarter).
    runs: { type: 'string', default: '1' },
    // Fleets time their first documents, with no warm-up document before them.
    cold: { type: 'boolean', default: false },
  },
});
const only = args.sets?.split(',');
const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
const work = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-text-'));
const logFile = path.join(work, 'apps.log');
await mkdir(path.join(work, 'redis'));
const redis = await startRedisServer(path.join(work, 'redis'), false);
process.once('exit', () => redis.child.kill('SIGKILL'));

interface BenchSet {
  name: string;
  describe: string;
  documents: string[];
  /** Pages of each document, in the order of `documents`. */
  pagesPerDocument: number[];
  pageCount: number;
  /** Per page of the set, in order: the words drawn inside its images, where known. */
  drawn: Array<string[] | undefined>;
}

/** The words a generated figure draws, by page: what OCR of its images should find. */
const FIGURE_WORDS = {
  words: ['Quarterly harvest report', 'apples oranges pears plums'],
  chart: ['Rainfall by season', 'Spring', 'Summer', 'Autumn', 'Winter'],
} as const;

async function writeSet(
  name: string,
  describe: string,
  docs: Array<Array<LayeredPage & { drawn?: string[] }>>,
): Promise<BenchSet> {
  const documents: string[] = [];
  for (const [i, pages] of docs.entries()) {
    const file = path.join(work, `${name}-${i}.pdf`);
    await writeFile(file, await layeredPdf(pages));
    documents.push(file);
  }
  const pagesPerDocument = docs.map((pages) => pages.length);
  const drawn = docs.flat().map((page) => page.drawn);
  return { name, describe, documents, pagesPerDocument, pageCount: docs.flat().length, drawn };
}

/** A born-digital page of 16 lines, then a figure, then its caption; `drawn` the figure's words. */
async function illustratedPage(seed: number, kind: 'words' | 'chart' | 'picture') {
  const words = kind === 'picture' ? [] : FIGURE_WORDS[kind];
  return {
    kind: 'illustrated' as const,
    lines: wordLines(seed, 16),
    figures: [{ image: await figure(kind, [...words]), caption: `Figure ${seed}: ${kind}` }],
    drawn: words.flatMap((line) => line.split(' ')),
  };
}

const FIGURE_KINDS = ['words', 'chart', 'picture'] as const;

/**
 * A document of `pages` born-digital pages, seeded from `seed`: a figure (the kinds in turn) on
 * each page `hasFigure` picks, 40 lines on the others.
 */
function illustratedDocument(seed: number, pages: number, hasFigure: (page: number) => boolean) {
  let figures = 0;
  return Promise.all(
    Array.from({ length: pages }, (_, p) =>
      hasFigure(p)
        ? illustratedPage(seed + p, FIGURE_KINDS[figures++ % FIGURE_KINDS.length] ?? 'words')
        : Promise.resolve({ kind: 'text' as const, lines: wordLines(seed + p, 40) }),
    ),
  );
}

/** The book set: one document of this many pages, this many with a figure. */
const BOOK_PAGES = 55;
const BOOK_FIGURES = 10;
const count = Number(args.documents);
const perDocument = Number(args['doc-pages']);
const sets: BenchSet[] = [
  await writeSet(
    'born-digital',
    `${count} generated documents of ${perDocument} born-digital letter pages (40 lines of Helvetica 14 pt)`,
    Array.from({ length: count }, (_, d) =>
      Array.from({ length: perDocument }, (_, p) => ({ kind: 'text' as const, lines: wordLines(d * 100 + p, 40) })),
    ),
  ),
  await writeSet(
    'illustrated',
    `${count} generated documents of ${perDocument} born-digital letter pages, every fourth with a figure 6 × 3 in (in turn: a panel of text, a bar chart with labelled axes, a picture without text) under 16 lines and above its caption`,
    await Promise.all(
      Array.from({ length: count }, (_, d) => illustratedDocument(d * 100, perDocument, (p) => p % 4 === 2)),
    ),
  ),
  await writeSet(
    'book',
    `1 generated document of ${BOOK_PAGES} born-digital letter pages, ${BOOK_FIGURES} of them with a figure as above (every fifth page from the third), like the office-suite book of the issue (55 pages, illustrations on 10)`,
    [await illustratedDocument(1000, BOOK_PAGES, (p) => p % 5 === 2 && p < BOOK_FIGURES * 5)],
  ),
  await writeSet(
    'mixed',
    `${count} generated documents of 6 pages: born-digital, scanned, a garbage layer over a scan, born-digital turned 90°, a scan already OCRed, born-digital`,
    await Promise.all(
      Array.from({ length: count }, async (_, d) => [
        { kind: 'text' as const, lines: wordLines(d * 10 + 1, 40) },
        { kind: 'scan' as const, image: await scannedPage(d * 10 + 2) },
        { kind: 'garbage' as const, image: await scannedPage(d * 10 + 3) },
        { kind: 'text' as const, lines: wordLines(d * 10 + 4, 40), rotate: 90 },
        { kind: 'ocred' as const, image: await scannedPage(d * 10 + 5), lines: wordLines(d * 10 + 5, 36) },
        { kind: 'text' as const, lines: wordLines(d * 10 + 6, 40) },
      ]),
    ),
  ),
];
// Every fleet reads this document before it is timed, as a worker that has been running has
// read others (a fresh worker's first pages run cold code and load sharp); each kind of page once.
const warmUp = path.join(work, 'warm-up.pdf');
await writeFile(
  warmUp,
  await layeredPdf([
    { kind: 'text', lines: wordLines(9001, 40) },
    ...(await Promise.all(FIGURE_KINDS.map((kind, i) => illustratedPage(9002 + i, kind)))),
    { kind: 'scan', image: await scannedPage(9005) },
  ]),
);

const corpus = process.env.CORPUS_DIR;
if (corpus) {
  const files = [
    'pdfjs_tracemonkey.pdf',
    'pypdf_GeoTopo-komprimiert.pdf',
    'pypdf_multicolumn.pdf',
    'pypdf_pdflatex-4-pages.pdf',
    'pypdf_crazyones-pdfa.pdf',
  ].map((name) => path.join(corpus, 'pdfs', name));
  const pages = await Promise.all(files.map(async (file) => (await pdfInfo(file, 60_000)).pages));
  sets.push({
    name: 'corpus',
    describe: `CORPUS_DIR's born-digital PDFs: ${files.map((file, i) => `${path.basename(file)} (${pages[i]})`).join(', ')}`,
    documents: files,
    pagesPerDocument: pages,
    pageCount: pages.reduce((sum, n) => sum + n, 0),
    drawn: [],
  });
}

function pdftotext(file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('pdftotext', [file, '/dev/null'], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pdftotext ${file} exited ${code}`))));
  });
}

/** pdftotext over every document, `cpus` at a time: the time reading the text costs with no queue. */
async function runPdftotext(documents: string[]): Promise<number> {
  const queue = [...documents];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: cpus }, async () => {
      for (let file = queue.shift(); file; file = queue.shift()) await pdftotext(file);
    }),
  );
  return (performance.now() - started) / 1000;
}

const fleet = (set: BenchSet, fields: Record<string, string>) =>
  runFleet({
    redisUrl: redis.url,
    workDir: work,
    logFile,
    documents: set.documents,
    pageCount: set.pageCount,
    dpi: config.DEFAULT_DPI,
    workers: 1,
    slots: cpus,
    fields,
    ...(args.cold ? {} : { warmUp: [warmUp] }),
  });

/** The words of one page as `pdftotext -bbox` writes them: the layer's words, one by one. */
function pdftotextWords(file: string, page: number): string[] {
  const n = String(page);
  const xhtml = spawnSync('pdftotext', ['-f', n, '-l', n, '-bbox', file, '-'], { encoding: 'utf8' }).stdout;
  return [...xhtml.matchAll(/<word [^>]*>([^<]*)<\/word>/g)].map(([, text = '']) =>
    text.replace(/&(amp|lt|gt|quot|apos);/g, (_entity, name: string) => ENTITIES[name] ?? ''),
  );
}
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Each page read from its layer against pdftotext for the same page of the same file: a text
 * page's text against pdftotext's text; a text+ocr page's layer words against pdftotext's words
 * (its text holds the images' words too).
 */
function textErrors(set: BenchSet, run: FleetRun) {
  const rates: number[] = [];
  let index = 0;
  for (const [i, file] of set.documents.entries()) {
    for (let page = 1; page <= (set.pagesPerDocument[i] ?? 0); page++, index++) {
      const result = run.pages[index];
      if (result?.method === 'text') {
        const n = String(page);
        const expected = spawnSync('pdftotext', ['-f', n, '-l', n, file, '-'], { encoding: 'utf8' }).stdout;
        rates.push(cer(expected, result.text));
      } else if (result?.method === 'text+ocr') {
        const layer = result.words.filter((word) => word.origin === 'layer').map((word) => word.text);
        rates.push(cer(pdftotextWords(file, page).join(' '), layer.join(' ')));
      }
    }
  }
  return {
    pages: rates.length,
    maxCer: Math.max(0, ...rates),
    meanCer: rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length),
  };
}

/** Share of the words drawn inside images found among a page's OCRed words (all of them with forceOcr). */
function imageRecall(set: BenchSet, run: FleetRun): number | undefined {
  let drawn = 0;
  let found = 0;
  for (const [index, words] of set.drawn.entries()) {
    if (!words?.length) continue;
    const read = (run.pages[index]?.words ?? []).filter((word) => word.origin !== 'layer').map((word) => word.text);
    drawn += words.length;
    for (const word of words) {
      const at = read.indexOf(word);
      if (at >= 0) {
        found++;
        read.splice(at, 1);
      }
    }
  }
  return drawn === 0 ? undefined : found / drawn;
}

/**
 * Reading a document's text layers page by page against a window of pages per pass: every page
 * in order through LayerWindows, as one worker's slots take a document's pages, seconds per page.
 */
async function measureWindows(file: string, pages: number) {
  const rows: Array<{ window: number; secondsPerPage: number }> = [];
  for (const window of WINDOWS) {
    const layers = new LayerWindows(window, 8);
    const started = performance.now();
    for (let page = 1; page <= pages; page++) await layers.read(file, file, page, new AbortController().signal);
    rows.push({ window, secondsPerPage: (performance.now() - started) / 1000 / pages });
  }
  return rows;
}

const WINDOWS = [1, 4, 16, 64];
const windowDocuments: Array<{ name: string; file: string; pages: number }> = [];
{
  const file = path.join(work, 'long.pdf');
  await writeFile(
    file,
    await layeredPdf(Array.from({ length: 500 }, (_, p) => ({ kind: 'text' as const, lines: wordLines(p, 40) }))),
  );
  windowDocuments.push({ name: 'generated, 500 born-digital pages', file, pages: 500 });
  if (corpus) {
    const geoTopo = path.join(corpus, 'pdfs', 'pypdf_GeoTopo-komprimiert.pdf');
    windowDocuments.push({
      name: 'pypdf_GeoTopo-komprimiert.pdf (1.8 MB, shared object streams)',
      file: geoTopo,
      pages: (await pdfInfo(geoTopo, 60_000)).pages,
    });
  }
}
const windowRows = [];
for (const document of only ? [] : windowDocuments) {
  const rows = await measureWindows(document.file, document.pages);
  console.log(
    `\ntext layers of ${document.name}: ${rows.map((row) => `window ${row.window}: ${(row.secondsPerPage * 1000).toFixed(1)} ms/page`).join(', ')}`,
  );
  windowRows.push({ document: document.name, pages: document.pages, rows });
}

const MB = (bytes: number) => Math.round(bytes / 1e6);
const percent = (share: number) => `${(100 * share).toFixed(1)} %`;
const report = [];
for (const set of sets.filter((candidate) => !only || only.includes(candidate.name))) {
  console.log(`\n${set.name}: ${set.describe}; ${set.pageCount} pages`);
  const pdftotextSeconds = await runPdftotext(set.documents);
  console.log(`  pdftotext alone ×${cpus}: ${pdftotextSeconds.toFixed(2)} s`);
  const runs: Array<{ text: FleetRun; ocr: FleetRun }> = [];
  for (let run = 1; run <= Number(args.runs); run++) {
    const text = await fleet(set, {});
    const ocr = await fleet(set, { forceOcr: 'true' });
    console.log(`  run ${run}: default ${text.seconds.toFixed(2)} s, forceOcr=true ${ocr.seconds.toFixed(1)} s`);
    runs.push({ text, ocr });
  }
  const text = medianBy(
    runs.map((run) => run.text),
    (run) => run.seconds,
  );
  const ocr = medianBy(
    runs.map((run) => run.ocr),
    (run) => run.seconds,
  );
  const methods = text.pages.reduce<Record<string, number>>(
    (counts, page) => ({ ...counts, [page.method ?? 'failed']: (counts[page.method ?? 'failed'] ?? 0) + 1 }),
    {},
  );
  const stageSeconds = Object.values(text.stageSecondsPerPage).reduce((sum, s) => sum + s, 0);
  // Slot-seconds a page took end to end beyond its own stages: the queue, the API, storing, Redis.
  const queueSecondsPerPage = Math.max(0, (text.seconds * cpus) / set.pageCount - stageSeconds);
  console.log(
    `  pagefleet default: ${text.seconds.toFixed(2)} s, ${text.pagesPerMinute.toFixed(0)} pages/min, methods ${JSON.stringify(methods)}, worker peak ${MB(text.workerPeakBytes)} MB, queue ${(queueSecondsPerPage * 1000).toFixed(0)} ms/page`,
  );
  console.log(
    `  pagefleet forceOcr=true: ${ocr.seconds.toFixed(1)} s, ${ocr.pagesPerMinute.toFixed(1)} pages/min, worker peak ${MB(ocr.workerPeakBytes)} MB`,
  );
  const errors = textErrors(set, text);
  const recall = { default: imageRecall(set, text), forceOcr: imageRecall(set, ocr) };
  // The limit: pdftotext's own time, plus what the queue costs each page on top of its stages.
  const limitSeconds = pdftotextSeconds + (queueSecondsPerPage * set.pageCount) / cpus;
  const entry = {
    set: set.name,
    describe: set.describe,
    pages: set.pageCount,
    methods,
    pdftotextSeconds,
    queueSecondsPerPage,
    limitSeconds,
    default: {
      seconds: text.seconds,
      pagesPerMinute: text.pagesPerMinute,
      workerPeakBytes: text.workerPeakBytes,
      stageSecondsPerPage: text.stageSecondsPerPage,
    },
    forceOcr: {
      seconds: ocr.seconds,
      pagesPerMinute: ocr.pagesPerMinute,
      workerPeakBytes: ocr.workerPeakBytes,
      stageSecondsPerPage: ocr.stageSecondsPerPage,
    },
    runs: { default: runs.map((run) => run.text.seconds), forceOcr: runs.map((run) => run.ocr.seconds) },
    speedup: ocr.seconds / text.seconds,
    overLimit: text.seconds / limitSeconds,
    textPages: errors,
    imageTextRecall: recall,
  };
  console.log(
    `  default ${entry.speedup.toFixed(1)}× faster than forceOcr; ${entry.overLimit.toFixed(2)}× the limit (pdftotext + queue = ${limitSeconds.toFixed(2)} s); text pages ${errors.pages}, CER vs pdftotext max ${errors.maxCer.toFixed(4)}${recall.default === undefined ? '' : `; words inside images found: default ${(100 * recall.default).toFixed(1)} %, forceOcr ${(100 * (recall.forceOcr ?? 0)).toFixed(1)} %`}`,
  );
  report.push(entry);
}

if (only) {
  await rm(work, { recursive: true, force: true });
  await redis.stop();
  process.exit(0);
}
const measured = {
  measuredAt: new Date().toISOString().slice(0, 10),
  machine: { cpus, memoryBytes: os.totalmem(), node: process.version },
  dpi: config.DEFAULT_DPI,
  engine: config.OCR_ENGINE,
  runs: Number(args.runs),
  warmUp: !args.cold,
  sets: report,
  windows: windowRows,
};
await writeFile(path.join(root, 'docs', 'text-layer.json'), `${JSON.stringify(measured, null, 2)}\n`);
const rows = report.map(
  (r) =>
    `| ${r.set} | ${r.pages} | ${Object.entries(r.methods)
      .map(([m, n]) => `${m} ${n}`)
      .join(
        ', ',
      )} | ${r.pdftotextSeconds.toFixed(2)} | ${(r.queueSecondsPerPage * 1000).toFixed(0)} ms | ${r.default.seconds.toFixed(2)} (${r.default.pagesPerMinute.toFixed(0)}/min) | ${r.forceOcr.seconds.toFixed(1)} (${r.forceOcr.pagesPerMinute.toFixed(1)}/min) | ${r.speedup.toFixed(1)}× | ${r.overLimit.toFixed(2)}× | ${MB(r.default.workerPeakBytes)} / ${MB(r.forceOcr.workerPeakBytes)} MB | ${r.textPages.maxCer.toFixed(4)} | ${r.imageTextRecall.default === undefined ? '–' : `${percent(r.imageTextRecall.default)} / ${percent(r.imageTextRecall.forceOcr ?? 0)}`} |`,
);
const table = `Measured ${measured.measuredAt} by \`npm run bench\` (\`bench:text\`) on ${cpus} CPUs, Node ${process.version}, ${config.DEFAULT_DPI} DPI, engine ${config.OCR_ENGINE}; one worker with one slot per CPU, every document submitted at once${args.cold ? ' to a fresh fleet' : ' after a 5-page warm-up document'}; ${args.runs} run(s) of each set, default and forceOcr=true in turn, median runs shown (the upper of an even count). Raw figures, every run: [text-layer.json](text-layer.json).

| set | pages | read as | pdftotext alone, s | queue per page | default, s | forceOcr=true, s | default vs forceOcr | default ÷ (pdftotext + queue) | worker peak RSS, default / forceOcr | layer words: CER vs pdftotext, max | words inside images found, default / forceOcr |
|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

${report.map((r) => `- ${r.set}: ${r.describe}.`).join('\n')}

Reading text layers (\`pdftotext -bbox-layout\`, \`pdftotext\`, \`pdfimages -list\`) one page per pass against a window of pages per pass, every page in order, one reader, milliseconds per page:

| document | pages | ${WINDOWS.map((w) => `window ${w}`).join(' | ')} |
|---|---|${WINDOWS.map(() => '---').join('|')}|
${windowRows.map((d) => `| ${d.document} | ${d.pages} | ${d.rows.map((row) => (row.secondsPerPage * 1000).toFixed(1)).join(' | ')} |`).join('\n')}`;
await writeBenchSection(path.join(root, 'docs', 'text-layer.md'), table);
console.log('\nwrote docs/text-layer.json and docs/text-layer.md');
await rm(work, { recursive: true, force: true });
await redis.stop();

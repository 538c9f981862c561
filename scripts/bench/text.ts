// `npm run bench` (second part), or `npm run bench:text` alone: PDFs that carry their text.
// For a born-digital set and a mixed set (generated with known text; CORPUS_DIR's born-digital
// PDFs too when set), the same documents three ways: pagefleet end to end with its defaults
// (text layers read), pagefleet with forceOcr=true (every page OCRed), and pdftotext alone, one
// process per CPU (the limit). Writes docs/text-layer.json and the figures of docs/text-layer.md.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig, pdfInfo } from '@pagefleet/shared';
import { cer } from '../lib/error-rates.js';
import { scannedPage, wordLines } from '../lib/fixtures.js';
import { startRedisServer } from '../lib/redis-server.js';
import { layeredPdf, type LayeredPage } from '../lib/text-pdfs.js';
import { runFleet, type FleetRun } from './lib/fleet.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cpus = os.availableParallelism();
const { values: args } = parseArgs({
  options: {
    documents: { type: 'string', default: '4' },
    'doc-pages': { type: 'string', default: '12' },
  },
});
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
}

async function writeSet(name: string, describe: string, docs: LayeredPage[][]): Promise<BenchSet> {
  const documents: string[] = [];
  for (const [i, pages] of docs.entries()) {
    const file = path.join(work, `${name}-${i}.pdf`);
    await writeFile(file, await layeredPdf(pages));
    documents.push(file);
  }
  const pagesPerDocument = docs.map((pages) => pages.length);
  return { name, describe, documents, pagesPerDocument, pageCount: docs.flat().length };
}

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
  });

/** Each text page's text against pdftotext's for the same page of the same file. */
function textErrors(set: BenchSet, run: FleetRun) {
  const rates: number[] = [];
  let index = 0;
  for (const [i, file] of set.documents.entries()) {
    for (let page = 1; page <= (set.pagesPerDocument[i] ?? 0); page++, index++) {
      const result = run.pages[index];
      if (result?.method !== 'text') continue;
      const n = String(page);
      const expected = spawnSync('pdftotext', ['-f', n, '-l', n, file, '-'], { encoding: 'utf8' }).stdout;
      rates.push(cer(expected, result.text));
    }
  }
  return {
    pages: rates.length,
    maxCer: Math.max(0, ...rates),
    meanCer: rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length),
  };
}

const MB = (bytes: number) => Math.round(bytes / 1e6);
const report = [];
for (const set of sets) {
  console.log(`\n${set.name}: ${set.describe}; ${set.pageCount} pages`);
  const pdftotextSeconds = await runPdftotext(set.documents);
  console.log(`  pdftotext alone ×${cpus}: ${pdftotextSeconds.toFixed(2)} s`);
  const text = await fleet(set, {});
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
  const ocr = await fleet(set, { forceOcr: 'true' });
  console.log(
    `  pagefleet forceOcr=true: ${ocr.seconds.toFixed(1)} s, ${ocr.pagesPerMinute.toFixed(1)} pages/min, worker peak ${MB(ocr.workerPeakBytes)} MB`,
  );
  const errors = textErrors(set, text);
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
    speedup: ocr.seconds / text.seconds,
    overLimit: text.seconds / limitSeconds,
    textPages: errors,
  };
  console.log(
    `  default ${entry.speedup.toFixed(1)}× faster than forceOcr; ${entry.overLimit.toFixed(2)}× the limit (pdftotext + queue = ${limitSeconds.toFixed(2)} s); text pages ${errors.pages}, CER vs pdftotext max ${errors.maxCer.toFixed(4)}`,
  );
  report.push(entry);
}

const measured = {
  measuredAt: new Date().toISOString().slice(0, 10),
  machine: { cpus, memoryBytes: os.totalmem(), node: process.version },
  dpi: config.DEFAULT_DPI,
  engine: config.OCR_ENGINE,
  sets: report,
};
await writeFile(path.join(root, 'docs', 'text-layer.json'), `${JSON.stringify(measured, null, 2)}\n`);
const rows = report.map(
  (r) =>
    `| ${r.set} | ${r.pages} | ${Object.entries(r.methods)
      .map(([m, n]) => `${m} ${n}`)
      .join(
        ', ',
      )} | ${r.pdftotextSeconds.toFixed(2)} | ${(r.queueSecondsPerPage * 1000).toFixed(0)} ms | ${r.default.seconds.toFixed(2)} (${r.default.pagesPerMinute.toFixed(0)}/min) | ${r.forceOcr.seconds.toFixed(1)} (${r.forceOcr.pagesPerMinute.toFixed(1)}/min) | ${r.speedup.toFixed(1)}× | ${r.overLimit.toFixed(2)}× | ${MB(r.default.workerPeakBytes)} / ${MB(r.forceOcr.workerPeakBytes)} MB | ${r.textPages.maxCer.toFixed(4)} |`,
);
const table = `Measured ${measured.measuredAt} by \`npm run bench\` (\`bench:text\`) on ${cpus} CPUs, Node ${process.version}, ${config.DEFAULT_DPI} DPI, engine ${config.OCR_ENGINE}; one worker with one slot per CPU, every document submitted at once. Raw figures: [text-layer.json](text-layer.json).

| set | pages | read as | pdftotext alone, s | queue per page | default, s | forceOcr=true, s | default vs forceOcr | default ÷ (pdftotext + queue) | worker peak RSS, default / forceOcr | text pages: CER vs pdftotext, max |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

${report.map((r) => `- ${r.set}: ${r.describe}.`).join('\n')}`;
const page = path.join(root, 'docs', 'text-layer.md');
const doc = await readFile(page, 'utf8');
const begin = doc.indexOf('<!-- bench:begin -->');
const end = doc.indexOf('<!-- bench:end -->');
if (begin < 0 || end < begin)
  throw new Error('docs/text-layer.md has no <!-- bench:begin --> … <!-- bench:end --> section');
await writeFile(page, `${doc.slice(0, begin + '<!-- bench:begin -->'.length)}\n${table}\n${doc.slice(end)}`);
console.log('\nwrote docs/text-layer.json and docs/text-layer.md');
await rm(work, { recursive: true, force: true });
await redis.stop();

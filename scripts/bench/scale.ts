// `npm run bench:scale`: throughput of pagefleet with K worker processes (one page slot each,
// K = 1, 2, 4 … up to the CPUs, or --workers), every configuration fed the same scanned pages
// through the real API, Redis and workers; and, where the `tesseract` command is installed, the
// same pages through pdftoppm + native tesseract, K processes at a time, as the ceiling the CPUs
// themselves allow. Writes docs/scale.json and docs/scale.md (charts).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '@pagefleet/shared';
import { FIXTURE_DPI } from '../lib/fixtures.js';
import { startRedisServer } from '../lib/redis-server.js';
import { runFleet } from './lib/fleet.js';
import { medianBy } from './lib/median.js';
import { nativeTessdata, runNative } from './lib/native.js';
import { renderScaleReport, type ScaleReport, type ScaleRun } from './lib/scale-report.js';
import { generateScans } from './lib/scans.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cpus = os.availableParallelism();
/** 1, 2, 4, 8 … and the CPU count itself. */
const defaultWorkers = [
  ...new Set([...Array.from({ length: Math.floor(Math.log2(cpus)) + 1 }, (_, i) => 2 ** i), cpus]),
];
const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: defaultWorkers.join(',') },
    // Enough pages that the last, partly idle round of K workers costs little.
    pages: { type: 'string', default: String(Math.max(24, 12 * Math.max(...defaultWorkers))) },
    'doc-pages': { type: 'string', default: '4' },
    // Runs of each configuration; the median is reported (a shared machine is noisy).
    repeat: { type: 'string', default: '3' },
  },
});
const workerCounts = args.workers.split(',').map(Number);
const pageCount = Number(args.pages);
const docPages = Number(args['doc-pages']);
const repeat = Number(args.repeat);

const work = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-scale-'));
const logFile = path.join(work, 'apps.log');
await mkdir(path.join(work, 'redis'));
const redis = await startRedisServer(path.join(work, 'redis'), false);
process.once('exit', () => redis.child.kill('SIGKILL'));

console.log(
  `pagefleet bench:scale — ${cpus} CPUs, ${Math.round(os.totalmem() / 1e9)} GB, Node ${process.version}; workers ${workerCounts.join(', ')}; ${pageCount} pages; work dir ${work}`,
);

// The same documents for every run: generated letter scans, `docPages` to a PDF.
const { documents, pages } = await generateScans(work, pageCount, docPages);

async function runPagefleet(workers: number): Promise<ScaleRun> {
  // One page slot per process: K processes on K CPUs, as native tesseract runs below.
  const run = await runFleet({
    redisUrl: redis.url,
    workDir: work,
    logFile,
    documents,
    pageCount: pages.length,
    dpi: FIXTURE_DPI,
    workers,
    slots: 1,
  });
  return { workers, ...run };
}

async function runNativeAt(tessdata: string, workers: number): Promise<ScaleRun> {
  const seconds = await runNative(tessdata, pages, workers, FIXTURE_DPI);
  return { workers, seconds, pagesPerMinute: (pages.length * 60) / seconds };
}

const tessdata = await nativeTessdata(work, loadConfig({}).OCR_MODEL);
if (!tessdata) console.log('native tesseract is not installed (apt-get install tesseract-ocr): pagefleet only');

/** The run of median throughput, with every run's pages/min beside it. */
function median(runs: ScaleRun[]): ScaleRun {
  return { ...medianBy(runs, (run) => run.pagesPerMinute), everyRun: runs.map((run) => run.pagesPerMinute) };
}

const pagefleet: ScaleRun[] = [];
const native: ScaleRun[] = [];
for (const workers of workerCounts) {
  const ours: ScaleRun[] = [];
  const theirs: ScaleRun[] = [];
  // Alternated, so that a slow spell of the machine falls on both.
  for (let run = 1; run <= repeat; run++) {
    ours.push(await runPagefleet(workers));
    console.log(
      `pagefleet K=${workers} run ${run}: ${ours.at(-1)?.seconds.toFixed(1)} s, ${ours.at(-1)?.pagesPerMinute.toFixed(1)} pages/min`,
    );
    if (!tessdata) continue;
    theirs.push(await runNativeAt(tessdata, workers));
    console.log(
      `native    K=${workers} run ${run}: ${theirs.at(-1)?.seconds.toFixed(1)} s, ${theirs.at(-1)?.pagesPerMinute.toFixed(1)} pages/min`,
    );
  }
  pagefleet.push(median(ours));
  if (theirs.length > 0) native.push(median(theirs));
}

const report: ScaleReport = {
  measuredAt: new Date().toISOString().slice(0, 10),
  machine: { cpus, memoryBytes: os.totalmem(), node: process.version },
  pages: {
    count: pages.length,
    perDocument: docPages,
    dpi: FIXTURE_DPI,
    describe: 'generated letter scans (36 lines of text on noisy paper, gray JPEG in a PDF)',
  },
  repeat,
  pagefleet,
  native,
};
const { markdown, summary } = renderScaleReport(report);
await writeFile(path.join(root, 'docs', 'scale.json'), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(path.join(root, 'docs', 'scale.md'), markdown);
console.log(`\n${summary}\nwrote docs/scale.json and docs/scale.md`);
await rm(work, { recursive: true, force: true });
await redis.stop();

// `npm run bench:scale`: throughput of pagefleet with K worker processes (one page slot each,
// K = 1, 2, 4 … up to the CPUs, or --workers), every configuration fed the same scanned pages
// through the real API, Redis and workers; and, where the `tesseract` command is installed, the
// same pages through pdftoppm + native tesseract, K processes at a time, as the ceiling the CPUs
// themselves allow. Writes docs/scale.json and docs/scale.md (charts).
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import { findLanguageFile, type DocumentState } from '@pagefleet/shared';
import { FIXTURE_DPI, pdfOf, scannedPage } from '../../test/support/fixtures.js';
import { freePort, startRedisServer } from '../lib/redis-server.js';
import { startApp, waitReady, type App } from './lib/apps.js';
import { replaceReadmeSection } from './lib/readme.js';
import { renderScaleReport, type ScaleReport, type ScaleRun } from './lib/scale-report.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cpus = os.availableParallelism();
/** 1, 2, 4, 8 … and the CPU count itself. */
const defaultWorkers = [...new Set([...Array.from({ length: Math.floor(Math.log2(cpus)) + 1 }, (_, i) => 2 ** i), cpus])];
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

console.log(`pagefleet bench:scale — ${cpus} CPUs, ${Math.round(os.totalmem() / 1e9)} GB, Node ${process.version}; workers ${workerCounts.join(', ')}; ${pageCount} pages; work dir ${work}`);

// The same documents for every run: generated letter scans, `docPages` to a PDF.
const documents: string[] = [];
for (let first = 0; first < pageCount; first += docPages) {
  const images = [];
  for (let seed = first; seed < Math.min(pageCount, first + docPages); seed++) images.push(await scannedPage(seed + 1));
  const file = path.join(work, `doc-${documents.length}.pdf`);
  await writeFile(file, await pdfOf(images));
  documents.push(file);
}
const pages = documents.flatMap((file, doc) =>
  Array.from({ length: Math.min(docPages, pageCount - doc * docPages) }, (_, i) => ({ file, page: i + 1 })),
);

/** Waits for a worker's /ready: its OCR engine has started, so start-up is not timed. */
async function waitWorkerReady(port: number): Promise<void> {
  const until = Date.now() + 60_000;
  while (!(await fetch(`http://127.0.0.1:${port}/ready`).then((res) => res.ok, () => false))) {
    if (Date.now() > until) throw new Error(`worker on port ${port} not ready within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Reads a job's Server-Sent Events until its `end` event, and returns the final document. */
async function untilEnd(eventsUrl: string): Promise<DocumentState> {
  const response = await fetch(eventsUrl);
  if (!response.body) throw new Error(`${eventsUrl} answered ${response.status}`);
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of response.body) {
    text += decoder.decode(chunk as Uint8Array, { stream: true });
    const end = /event: end\ndata: (.*)\n\n/.exec(text);
    if (end) return JSON.parse(end[1] as string) as DocumentState;
  }
  throw new Error(`${eventsUrl} closed before the job ended`);
}

async function runPagefleet(workers: number): Promise<ScaleRun> {
  const apiPort = await freePort();
  const env = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: `scale-${workers}-${Date.now()}`,
    DATA_DIR: path.join(work, `data-${workers}`),
    PORT: String(apiPort),
    LOG_LEVEL: 'warn',
    DEFAULT_DPI: String(FIXTURE_DPI),
  };
  const url = `http://127.0.0.1:${apiPort}`;
  const apps: App[] = [startApp('api', env, logFile)];
  try {
    await waitReady(url);
    // One page slot per process: K processes on K CPUs, as native tesseract runs below.
    const ports = await Promise.all(Array.from({ length: workers }, () => freePort()));
    for (const port of ports) {
      apps.push(startApp('worker', { ...env, WORKER_CONCURRENCY: '1', WORKER_QUEUES: 'pages', WORKER_PORT: String(port) }, logFile));
    }
    await Promise.all(ports.map(waitWorkerReady));

    const started = performance.now();
    const ids = await Promise.all(
      documents.map(async (file, i) => {
        const form = new FormData();
        form.append('file', new Blob([await readFile(file)]), `doc-${i}.pdf`);
        const response = await fetch(`${url}/v1/jobs`, { method: 'POST', body: form });
        if (response.status !== 202) throw new Error(`submission answered ${response.status}: ${await response.text()}`);
        return ((await response.json()) as { id: string }).id;
      }),
    );
    // The job's event stream says when it ends: no polling loop competing with the workers for CPU.
    const finished = await Promise.all(ids.map((id) => untilEnd(`${url}/v1/jobs/${id}/events`)));
    const seconds = (performance.now() - started) / 1000;
    const failed = finished.filter((doc) => doc.status !== 'completed');
    if (failed.length > 0) throw new Error(`${failed.length} documents did not complete: ${JSON.stringify(failed[0])}`);
    // The workers' own stage timings, from the stored page results.
    const stages: Record<string, number> = {};
    for (const id of ids) {
      const { pages: results } = (await (await fetch(`${url}/v1/jobs/${id}/result`)).json()) as { pages: Array<{ durations: Record<string, number> }> };
      for (const result of results) for (const [stage, ms] of Object.entries(result.durations)) stages[stage] = (stages[stage] ?? 0) + ms;
    }
    const stageSeconds = Object.fromEntries(Object.entries(stages).map(([stage, ms]) => [stage, ms / 1000 / pages.length]));
    return { workers, seconds, pagesPerMinute: (pages.length * 60) / seconds, stageSecondsPerPage: stageSeconds };
  } finally {
    await Promise.all(apps.map((app) => app.stop()));
    await rm(env.DATA_DIR, { recursive: true, force: true });
  }
}

const onPath = (command: string) =>
  (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, command)));

/** Native tesseract reads the same traineddata file as pagefleet (the npm package's best_int model), unzipped. */
async function nativeTessdata(): Promise<string | undefined> {
  if (!onPath('tesseract')) return undefined;
  const gz = findLanguageFile('eng');
  if (!gz) return undefined;
  const dir = path.join(work, 'tessdata');
  await mkdir(dir, { recursive: true });
  const target = path.join(dir, 'eng.traineddata');
  if (gz.endsWith('.gz')) await pipeline(createReadStream(gz), createGunzip(), createWriteStream(target));
  else await copyFile(gz, target);
  return dir;
}

/** pdftoppm page | tesseract stdin stdout: the same render (gray, DPI) and model as a pagefleet worker. */
function nativePage(tessdata: string, file: string, page: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const render = spawn('pdftoppm', ['-f', String(page), '-l', String(page), '-r', String(FIXTURE_DPI), '-gray', '--', file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const ocr = spawn('tesseract', ['stdin', 'stdout', '--tessdata-dir', tessdata, '-l', 'eng', '--oem', '1', '--psm', '3', '--dpi', String(FIXTURE_DPI)], {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { ...process.env, OMP_THREAD_LIMIT: '1' },
    });
    render.stdout.pipe(ocr.stdin);
    let text = '';
    ocr.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    ocr.once('exit', (code) => (code === 0 && text.trim() ? resolve() : reject(new Error(`tesseract exited ${code} on ${file} page ${page}`))));
  });
}

async function runNative(tessdata: string, workers: number): Promise<ScaleRun> {
  const queue = [...pages];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await nativePage(tessdata, next.file, next.page);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { workers, seconds, pagesPerMinute: (pages.length * 60) / seconds };
}

const tessdata = await nativeTessdata();
if (!tessdata) console.log('native tesseract is not installed (apt-get install tesseract-ocr): pagefleet only');
/** The run of median throughput, with every run's pages/min beside it. */
function median(runs: ScaleRun[]): ScaleRun {
  const sorted = [...runs].sort((a, b) => a.pagesPerMinute - b.pagesPerMinute);
  return { ...(sorted[Math.floor(sorted.length / 2)] as ScaleRun), everyRun: runs.map((run) => run.pagesPerMinute) };
}

const pagefleet: ScaleRun[] = [];
const native: ScaleRun[] = [];
for (const workers of workerCounts) {
  const ours: ScaleRun[] = [];
  const theirs: ScaleRun[] = [];
  // Alternated, so that a slow spell of the machine falls on both.
  for (let run = 1; run <= repeat; run++) {
    ours.push(await runPagefleet(workers));
    console.log(`pagefleet K=${workers} run ${run}: ${ours.at(-1)?.seconds.toFixed(1)} s, ${ours.at(-1)?.pagesPerMinute.toFixed(1)} pages/min`);
    if (!tessdata) continue;
    theirs.push(await runNative(tessdata, workers));
    console.log(`native    K=${workers} run ${run}: ${theirs.at(-1)?.seconds.toFixed(1)} s, ${theirs.at(-1)?.pagesPerMinute.toFixed(1)} pages/min`);
  }
  pagefleet.push(median(ours));
  if (theirs.length > 0) native.push(median(theirs));
}

const report: ScaleReport = {
  measuredAt: new Date().toISOString().slice(0, 10),
  machine: { cpus, memoryBytes: os.totalmem(), node: process.version },
  pages: { count: pages.length, perDocument: docPages, dpi: FIXTURE_DPI, describe: 'generated letter scans (36 lines of text on noisy paper, gray JPEG in a PDF)' },
  repeat,
  pagefleet,
  native,
};
const { markdown, summary, readme } = renderScaleReport(report);
await writeFile(path.join(root, 'docs', 'scale.json'), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(path.join(root, 'docs', 'scale.md'), markdown);
await replaceReadmeSection(path.join(root, 'README.md'), 'scale', readme);
console.log(`\n${summary}\nwrote docs/scale.json, docs/scale.md and README's table`);
await rm(work, { recursive: true, force: true });
await redis.stop();

// `npm run bench:memory`: peak RSS of real API and worker processes against a real redis-server,
// on generated 300-DPI letter scans (or CORPUS_DIR's PDFs). Writes docs/memory.json,
// docs/memory.md (charts and the tier table) and the worker's measured memory profile.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { PDFDocument } from 'pdf-lib';
import { FINISHED_STATUSES, loadConfig, mebibytes, parseByteSize, QUEUES, type DocumentState } from '@pagefleet/shared';
import { planCapacity } from '../../apps/worker/src/capacity/plan.js';
import {
  loadMemoryProfile,
  MEMORY_PROFILE_FILE,
  slotBytesFor,
  type MemoryProfile,
} from '../../apps/worker/src/capacity/profile.js';
import { FIXTURE_DPI, pdfOf, scannedPage } from '../lib/fixtures.js';
import { startRedisServer } from '../lib/redis-server.js';
import { startApp, waitReady, type AppProcess } from '../lib/apps.js';
import { hugePng, mediaboxPdf } from './lib/hostile.js';
import { PeakSampler } from './lib/rss.js';
import { renderMemoryReport, type MemoryReport } from './lib/memory-report.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({
  options: {
    pages: { type: 'string', default: '30' },
    'doc-pages': { type: 'string', default: '20' },
    documents: { type: 'string', default: '1,10,50' },
    slots: { type: 'string', default: '1,2,4' },
    'pages-per-round': { type: 'string', default: '8' },
  },
});
const numbers = (text: string) => text.split(',').map(Number);
const MB = (bytes: number) => Math.round(bytes / 1e6);

const work = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-bench-'));
const logFile = path.join(work, 'apps.log');
await mkdir(path.join(work, 'redis'));
const redisServer = await startRedisServer(path.join(work, 'redis'), false);
process.once('exit', () => redisServer.child.kill('SIGKILL'));
const sampler = new PeakSampler(50);
const previousProfile = loadMemoryProfile();
let port = 3900;

interface Stack {
  url: string;
  env: Record<string, string>;
  api: AppProcess;
  queues: Queue[];
  stop(): Promise<void>;
}

/** A fresh API (own key prefix and DATA_DIR) whose RSS is sampled as `api`. */
async function startApi(name: string, extra: Record<string, string> = {}): Promise<Stack> {
  const env = {
    REDIS_URL: redisServer.url,
    QUEUE_PREFIX: `bench-${name}`,
    DATA_DIR: path.join(work, name),
    PORT: String(port++),
    LOG_LEVEL: 'warn',
    MAX_CONCURRENT_UPLOADS: '100',
    WORKER_PORT: '0',
    ...extra,
  };
  const api = startApp('api', env, { logFile });
  const url = `http://127.0.0.1:${env.PORT}`;
  await waitReady(url);
  sampler.track('api', api.pid);
  const connection = { connection: { url: redisServer.url }, prefix: env.QUEUE_PREFIX };
  const queues = [QUEUES.pages, QUEUES.pagesLarge].map((queue) => new Queue(queue, connection));
  return {
    url,
    env,
    api,
    queues,
    async stop() {
      await Promise.all(queues.map((queue) => queue.close()));
      await api.stop();
      await rm(env.DATA_DIR, { recursive: true, force: true });
    },
  };
}

function startWorker(stack: Stack, env: Record<string, string>): AppProcess {
  const worker = startApp('worker', { ...stack.env, ...env }, { logFile });
  sampler.track('worker', worker.pid);
  return worker;
}

async function submit(stack: Stack, name: string, data: Buffer, fields: Record<string, string> = {}): Promise<string> {
  const form = new FormData();
  for (const [field, value] of Object.entries(fields)) form.append(field, value);
  form.append('file', new Blob([data]), name);
  const response = await fetch(`${stack.url}/v1/jobs`, { method: 'POST', body: form });
  if (response.status !== 202) throw new Error(`submission answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

async function waitFinished(stack: Stack, id: string): Promise<DocumentState> {
  for (;;) {
    const doc = (await (await fetch(`${stack.url}/v1/jobs/${id}`)).json()) as DocumentState;
    if (FINISHED_STATUSES.has(doc.status)) return doc;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function completedPages(stack: Stack): Promise<number> {
  const counts = await Promise.all(stack.queues.map((queue) => queue.getJobCounts('completed', 'failed')));
  return counts.reduce((sum, count) => sum + (count.completed ?? 0) + (count.failed ?? 0), 0);
}

/** The documents to OCR: CORPUS_DIR's PDFs when given, else generated scans. */
async function scans(pages: number, firstSeed: number): Promise<{ pdf: Buffer; describe: string }> {
  const corpus = process.env.CORPUS_DIR;
  if (corpus) {
    const dir = path.join(corpus, 'pdfs');
    const files = (await readdir(dir)).filter((name) => name.endsWith('.pdf')).sort();
    const merged = await PDFDocument.create();
    for (let i = 0; merged.getPageCount() < pages && files.length; i++) {
      const source = await PDFDocument.load(await readFile(path.join(dir, files[i % files.length] as string)), {
        ignoreEncryption: true,
      }).catch(() => undefined);
      if (!source || source.isEncrypted) continue;
      for (const page of await merged.copyPages(source, source.getPageIndices())) {
        if (merged.getPageCount() < pages) merged.addPage(page);
      }
    }
    return { pdf: Buffer.from(await merged.save()), describe: `${pages} pages from ${dir}` };
  }
  const images = [];
  for (let i = 0; i < pages; i++) images.push(await scannedPage(firstSeed + i));
  return {
    pdf: await pdfOf(images),
    describe: `generated letter scans (36 lines of text on noisy paper, gray JPEG, scanned at ${FIXTURE_DPI} DPI) rendered at ${loadConfig({}).DEFAULT_DPI} DPI`,
  };
}

console.log(`pagefleet bench:memory — ${os.availableParallelism()} CPUs, ${MB(os.totalmem())} MB; work dir ${work}`);

// 1. One worker at 1, 2, 4 slots on the same pages: base and per-slot cost.
const slotDoc = await scans(Number(args.pages), 1);
console.log(`\n1. slots — ${args.pages} pages (${MB(slotDoc.pdf.length)} MB PDF), ${slotDoc.describe}`);
const slotRuns: Array<{ slots: number; peakBytes: number; pagesPerMinute: number; status: string }> = [];
for (const slots of numbers(args.slots)) {
  const stack = await startApi(`slots-${slots}`);
  const worker = startWorker(stack, { WORKER_CONCURRENCY: String(slots), WORKER_QUEUES: QUEUES.pages });
  const started = performance.now();
  const doc = await waitFinished(stack, await submit(stack, 'scan.pdf', slotDoc.pdf));
  const minutes = (performance.now() - started) / 60_000;
  const run = {
    slots,
    peakBytes: sampler.peak('worker'),
    pagesPerMinute: Math.round((doc.pagesDone / minutes) * 10) / 10,
    status: doc.status,
  };
  slotRuns.push(run);
  console.log(
    `   ${slots} slot(s): worker peak ${MB(run.peakBytes)} MB, ${run.pagesPerMinute} pages/min, ${doc.status}`,
  );
  await worker.stop();
  await stack.stop();
}
// Least squares over (slots, peak): the intercept is the base, the slope the cost of a slot.
const n = slotRuns.length;
const meanX = slotRuns.reduce((s, r) => s + r.slots, 0) / n;
const meanY = slotRuns.reduce((s, r) => s + r.peakBytes, 0) / n;
const slope =
  slotRuns.reduce((s, r) => s + (r.slots - meanX) * (r.peakBytes - meanY), 0) /
  slotRuns.reduce((s, r) => s + (r.slots - meanX) ** 2, 0);
const baseBytes = Math.round(meanY - slope * meanX);
const slotBytes = Math.round(slope);
console.log(`   fit: base ${MB(baseBytes)} MB + ${MB(slotBytes)} MB per slot`);

// 2. 1, 10, 50 documents uploaded at once: API peak during the uploads, worker peak while it works through the queue.
const queueDoc = await scans(Number(args['doc-pages']), 101);
const workerSlots = Math.min(os.availableParallelism(), 4);
console.log(
  `\n2. documents at once — each ${args['doc-pages']} pages, ${MB(queueDoc.pdf.length)} MB; worker at ${workerSlots} slots, ${args['pages-per-round']} pages per round`,
);
const documentRuns: Array<{
  documents: number;
  apiIdleBytes: number;
  apiPeakBytes: number;
  workerPeakBytes: number;
  queuedPages: number;
}> = [];
for (const documents of numbers(args.documents)) {
  const stack = await startApi(`docs-${documents}`);
  const apiIdleBytes = sampler.peak('api');
  sampler.reset('api');
  await Promise.all(Array.from({ length: documents }, (_, i) => submit(stack, `doc-${i}.pdf`, queueDoc.pdf)));
  const apiPeakBytes = sampler.peak('api');
  const queuedPages = documents * Number(args['doc-pages']);
  const worker = startWorker(stack, { WORKER_CONCURRENCY: String(workerSlots), WORKER_QUEUES: QUEUES.pages });
  while ((await completedPages(stack)) < Number(args['pages-per-round']))
    await new Promise((resolve) => setTimeout(resolve, 500));
  const run = { documents, apiIdleBytes, apiPeakBytes, workerPeakBytes: sampler.peak('worker'), queuedPages };
  documentRuns.push(run);
  console.log(
    `   ${documents} document(s), ${queuedPages} pages queued: API idle ${MB(apiIdleBytes)} MB, peak ${MB(apiPeakBytes)} MB; worker peak ${MB(run.workerPeakBytes)} MB`,
  );
  await worker.stop();
  await stack.stop();
}

// 3. Hostile pages, to a worker of one large slot.
console.log('\n3. hostile pages — a 20000×20000 PNG and a PDF page with a 200-inch MediaBox');
const config = loadConfig({});
const hugeImage = await hugePng();
const hostileBudget = previousProfile.baseBytes + slotBytesFor(previousProfile, config.MAX_PAGE_PIXELS);
const hostileRuns: Array<{ file: string; peakBytes: number; status: string; detail: string }> = [];
for (const [file, data] of [
  ['huge.png', hugeImage],
  ['mediabox.pdf', await mediaboxPdf()],
] as const) {
  const stack = await startApi(`hostile-${file.replace('.', '-')}`);
  const worker = startWorker(stack, { WORKER_CONCURRENCY: '1', WORKER_QUEUES: QUEUES.pagesLarge });
  // The MediaBox page carries its text: forceOcr makes it render, which is what it is here to cost.
  const id = await submit(stack, file, data, { forceOcr: 'true' });
  const doc = await waitFinished(stack, id);
  const result = (await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).json()) as {
    pages: Array<{ status: string; width?: number; height?: number; dpi?: number; error?: string; text: string }>;
  };
  const page = result.pages[0];
  const detail =
    page?.status === 'completed'
      ? `OCRed at ${page.width}×${page.height}${page.dpi ? ` (${page.dpi} DPI)` : ''}: "${page.text.trim().slice(0, 40)}"`
      : `failed: ${page?.error}`;
  const run = { file, peakBytes: sampler.peak('worker'), status: doc.status, detail };
  hostileRuns.push(run);
  console.log(
    `   ${file} (${MB(data.length)} MB): worker peak ${MB(run.peakBytes)} MB (budget ${MB(hostileBudget)} MB), ${detail}`,
  );
  await worker.stop();
  await stack.stop();
}

sampler.stop();
await redisServer.stop();

// A large slot costs what the worst hostile page cost over the base; pages in between scale with pixels.
const slotPixels = 2550 * 3300;
const largeSlotBytes = Math.max(...hostileRuns.map((run) => run.peakBytes)) - baseBytes;
const profile: MemoryProfile = {
  baseBytes,
  slotBytes,
  slotPixels,
  bytesPerPixel: Math.max(
    0,
    Math.round(((largeSlotBytes - slotBytes) / (config.MAX_PAGE_PIXELS - slotPixels)) * 100) / 100,
  ),
  measured: {
    at: new Date().toISOString().slice(0, 10),
    on: `npm run bench:memory on ${os.availableParallelism()} CPUs, ${MB(os.totalmem())} MB, Node ${process.version}`,
    pages: slotDoc.describe,
  },
};
const tiers = ['512Mi', '1Gi', '2Gi', '4Gi', '8Gi'].map((tier) => {
  const plan = planCapacity({
    tier: parseByteSize(tier),
    machine: { memoryBytes: os.totalmem(), cpus: 64 },
    profile,
    largePagePixels: config.LARGE_PAGE_PIXELS,
    maxPagePixels: config.MAX_PAGE_PIXELS,
    paddleInstalled: false,
  });
  const slotsOf = (queue: string) => plan.queues.find((entry) => entry.queue === queue)?.slots ?? 0;
  const pages = slotsOf(QUEUES.pages);
  const measured = slotRuns.find((run) => run.slots === pages);
  return {
    tier,
    pagesSlots: pages,
    largeSlots: slotsOf(QUEUES.pagesLarge),
    predictedPeakBytes: plan.queues.reduce((sum, entry) => sum + entry.slots * entry.slotBytes, profile.baseBytes),
    measuredPeakBytes: measured?.peakBytes,
  };
});

const report: MemoryReport = {
  machine: { cpus: os.availableParallelism(), memoryBytes: os.totalmem(), node: process.version },
  config: { dpi: config.DEFAULT_DPI, maxPagePixels: config.MAX_PAGE_PIXELS, largePagePixels: config.LARGE_PAGE_PIXELS },
  slots: { pages: slotDoc.describe, pageCount: Number(args.pages), runs: slotRuns, baseBytes, slotBytes },
  documents: {
    pagesPerDocument: Number(args['doc-pages']),
    documentBytes: queueDoc.pdf.length,
    workerSlots,
    runs: documentRuns,
  },
  hostile: { budgetBytes: hostileBudget, budgetFrom: previousProfile.measured.on, runs: hostileRuns },
  profile,
  tiers,
};
await mkdir(path.join(root, 'docs'), { recursive: true });
await writeFile(path.join(root, 'docs', 'memory.json'), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(MEMORY_PROFILE_FILE, `${JSON.stringify(profile, null, 2)}\n`);
await writeFile(path.join(root, 'docs', 'memory.md'), renderMemoryReport(report));
console.log(
  `\nbase ${mebibytes(baseBytes)} MiB, ${mebibytes(slotBytes)} MiB per slot, ${profile.bytesPerPixel} bytes per extra pixel`,
);
console.log('wrote docs/memory.json, docs/memory.md and apps/worker/memory-profile.json');
await rm(work, { recursive: true, force: true });

// `npm run bench`: the same pages, on the same machine, three ways, side by side:
//   1. native `tesseract` (pdftoppm | tesseract, same traineddata and DPI), one process per CPU: the limit;
//   2. pagefleet's page pipeline in this process (rasterize → preprocess → OCR, no queue), one slot per CPU;
//   3. pagefleet end to end (API + Redis + one worker with one slot per CPU: submit → events → result).
// Writes docs/speed.json and docs/speed.md (chart, stage breakdown, overhead); with CORPUS_DIR, real
// documents instead of generated scans, to docs/speed-corpus.json and docs/speed-corpus.md.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger, findLanguageFile, loadConfig, OPEN_TENANT } from '@pagefleet/shared';
import { createOcrEngine } from '../../apps/worker/src/pipeline/engine.js';
import { OrientationDetector } from '../../apps/worker/src/pipeline/orientation.js';
import { LayerWindows } from '../../apps/worker/src/pipeline/layer-windows.js';
import { ParsedPdfs } from '../../apps/worker/src/pipeline/parsed-pdfs.js';
import { recognizePage } from '../../apps/worker/src/pipeline/page.js';
import { createRasterizer } from '../../apps/worker/src/pipeline/rasterize.js';
import { startRedisServer } from '../lib/redis-server.js';
import { runFleet } from './lib/fleet.js';
import { nativeTessdata, runNative } from './lib/native.js';
import { corpusDocuments, generateScans, type BenchPages } from './lib/scans.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cpus = os.availableParallelism();
const { values: args } = parseArgs({
  options: {
    pages: { type: 'string', default: String(Math.max(24, 12 * cpus)) },
    'doc-pages': { type: 'string', default: '4' },
  },
});

// Everything as a worker runs with this environment (the defaults when unset): DPI, model, deskew, rotation.
const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
const DPI = config.DEFAULT_DPI;
const model = `${config.OCR_MODEL} (${findLanguageFile('eng', { model: config.OCR_MODEL })})`;
const work = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-speed-'));
const logFile = path.join(work, 'apps.log');
await mkdir(path.join(work, 'redis'));
const redis = await startRedisServer(path.join(work, 'redis'), false);
process.once('exit', () => redis.child.kill('SIGKILL'));
// CORPUS_DIR's documents instead of generated scans: the same three runs over real pages.
const corpus = process.env.CORPUS_DIR;
const scans: BenchPages = corpus
  ? await corpusDocuments(corpus)
  : await generateScans(work, Number(args.pages), Number(args['doc-pages']));
const pageCount = scans.pages.length;
const describe = corpus
  ? `${pageCount} pages of ${scans.documents.length} real documents from CORPUS_DIR (scans, a fax, born-digital papers)`
  : `${pageCount} generated letter scans (36 lines of text on noisy paper, gray JPEG in a PDF)`;
console.log(`pagefleet bench — ${cpus} CPUs, Node ${process.version}; ${describe} at ${DPI} DPI; work dir ${work}`);

/** pagefleet's own pipeline without the queue: what the worker does to each page, `cpus` pages at a time. */
async function runPipeline(): Promise<number> {
  const log = createLogger(config, 'bench');
  const maxPixels = config.MAX_PAGE_PIXELS;
  const ocr = createOcrEngine(config, cpus, log);
  // Started before the clock, as a worker's are before it reports ready.
  await Promise.all(Array.from({ length: cpus }, () => ocr.warmUp('eng')));
  const orientation = config.AUTO_ROTATE ? new OrientationDetector() : undefined;
  const deps = {
    rasterizer: createRasterizer('poppler'),
    layers: new LayerWindows(1, 1),
    pdfs: new ParsedPdfs(),
    engines: { tesseract: ocr },
    orientation,
    maxPixels,
    timeoutMs: 600_000,
  };
  const queue = [...scans.pages];
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: cpus }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const { file } = next;
          const job = {
            documentId: randomUUID(),
            page: next.page,
            languages: 'eng',
            dpi: DPI,
            pixels: 1,
            formats: [],
            forceOcr: false,
            engine: 'tesseract' as const,
            tenant: OPEN_TENANT,
            priority: 'batch' as const,
          };
          await recognizePage({ ...job, source: { file: 'page.pdf', kind: 'pdf', index: next.page } }, file, deps);
        }
      }),
    );
    return (performance.now() - started) / 1000;
  } finally {
    await Promise.all([ocr.close(), orientation?.close()]);
  }
}

const perMinute = (seconds: number) => (pageCount * 60) / seconds;
const tessdata = await nativeTessdata(work, config.OCR_MODEL);
if (!tessdata)
  console.log('native tesseract is not installed (apt-get install tesseract-ocr): no ceiling to compare with');
const nativeSeconds = tessdata ? await runNative(tessdata, scans.pages, cpus, DPI) : undefined;
if (nativeSeconds)
  console.log(
    `1. native tesseract ×${cpus}: ${nativeSeconds.toFixed(1)} s, ${perMinute(nativeSeconds).toFixed(1)} pages/min`,
  );
const pipelineSeconds = await runPipeline();
console.log(
  `2. pagefleet pipeline in-process ×${cpus}: ${pipelineSeconds.toFixed(1)} s, ${perMinute(pipelineSeconds).toFixed(1)} pages/min`,
);
const fleet = await runFleet({
  redisUrl: redis.url,
  workDir: work,
  logFile,
  documents: scans.documents,
  pageCount,
  dpi: DPI,
  workers: 1,
  slots: cpus,
});
console.log(
  `3. pagefleet end to end, 1 worker × ${cpus} slots: ${fleet.seconds.toFixed(1)} s, ${fleet.pagesPerMinute.toFixed(1)} pages/min`,
);

// Slot-seconds per page the end-to-end run spent, against what the stored page timings account for
// (rasterize, preprocess, OCR): the rest is storing, the queue, the API, Redis and the hand-offs.
const slotSecondsPerPage = (fleet.seconds * cpus) / pageCount;
const stageSum = Object.values(fleet.stageSecondsPerPage).reduce((sum, seconds) => sum + seconds, 0);
const overheadSecondsPerPage = Math.max(0, slotSecondsPerPage - stageSum);
const overheadShare = overheadSecondsPerPage / slotSecondsPerPage;

const runs = [
  { name: 'native tesseract (the limit)', seconds: nativeSeconds },
  { name: 'pagefleet pipeline, in-process', seconds: pipelineSeconds },
  { name: 'pagefleet end to end', seconds: fleet.seconds },
];
const report = {
  measuredAt: new Date().toISOString().slice(0, 10),
  machine: { cpus, memoryBytes: os.totalmem(), node: process.version },
  pages: { count: pageCount, dpi: DPI, source: corpus ? 'corpus' : 'generated', describe },
  runs: runs.map((run) => ({ ...run, pagesPerMinute: run.seconds === undefined ? undefined : perMinute(run.seconds) })),
  endToEnd: {
    stageSecondsPerPage: fleet.stageSecondsPerPage,
    slotSecondsPerPage,
    overheadSecondsPerPage,
    overheadShare,
  },
};
const fixed = (value: number | undefined, digits = 1) => (value === undefined ? '—' : value.toFixed(digits));
const ratio = (seconds: number | undefined) =>
  seconds === undefined || nativeSeconds === undefined ? undefined : nativeSeconds / seconds;
const e2eRatio = ratio(fleet.seconds);
const markdown = `# Speed: pagefleet against native Tesseract

Written by \`npm run bench\` on ${report.measuredAt}: ${cpus} CPUs, Node ${process.version}. ${pageCount} pages
(${report.pages.describe}) at ${DPI} DPI, the same pages for every run, each with one slot or process per CPU.
Native: \`pdftoppm -r ${DPI} -gray | tesseract --oem 1 --psm 3\` with the traineddata pagefleet reads (English
${model}), \`OMP_THREAD_LIMIT=1\`. pagefleet runs with its configuration (engine ${config.OCR_ENGINE}, deskew ${config.DESKEW}, upright check ${config.AUTO_ROTATE}). Targets: end to end ≥ 0.85 × native in pages/min;
queue and store overhead < 5% of page time.

| run | seconds | pages/min | × native |
|---|---|---|---|
${report.runs.map((run) => `| ${run.name} | ${fixed(run.seconds)} | ${fixed(run.pagesPerMinute)} | ${fixed(ratio(run.seconds), 2)} |`).join('\n')}

\`\`\`mermaid
xychart-beta
  title "Pages per minute, ${cpus} CPUs"
  x-axis ["native", "pipeline", "end to end"]
  y-axis "pages/min"
  bar [${report.runs.map((run) => fixed(run.pagesPerMinute)).join(', ')}]
\`\`\`

End to end, where a page's time went (seconds per page, from the worker's own timings):

| stage | seconds per page |
|---|---|
${Object.entries(fleet.stageSecondsPerPage)
  .map(([stage, seconds]) => `| ${stage} | ${seconds.toFixed(3)} |`)
  .join('\n')}
| store, queue, API, Redis (slot-seconds not spent in the stages above) | ${overheadSecondsPerPage.toFixed(3)} |
| slot-seconds per page in all | ${slotSecondsPerPage.toFixed(3)} |

Queue and store overhead: ${(overheadShare * 100).toFixed(1)}% of page time (target < 5%: ${overheadShare < 0.05 ? 'met' : 'missed'}).
End to end against native: ${fixed(e2eRatio, 2)} (target ≥ 0.85: ${e2eRatio === undefined ? 'no native run' : e2eRatio >= 0.85 ? 'met' : 'missed'}).
`;
const name = corpus ? 'speed-corpus' : 'speed';
await writeFile(path.join(root, 'docs', `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(path.join(root, 'docs', `${name}.md`), markdown);
console.log(
  `\nend to end ÷ native: ${fixed(e2eRatio, 2)}; queue and store overhead ${(overheadShare * 100).toFixed(1)}% of page time\nwrote docs/${name}.json and docs/${name}.md`,
);
await rm(work, { recursive: true, force: true });
await redis.stop();

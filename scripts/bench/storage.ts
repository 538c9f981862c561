// `npm run bench:storage`: the same documents end to end with STORAGE=filesystem and with
// STORAGE=s3 (a real S3 server, s3rver, on this machine), API and worker on disks of their own in
// the S3 runs. Reports seconds per page, the storage's overhead, and the bytes a worker fetched
// per page: with S3 each multi-page PDF is split once into one-page PDFs, and a page's worker
// fetches its own page, not the file. Writes docs/storage.json and docs/storage.md.
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { wordLines } from '../lib/fixtures.js';
import { startRedisServer } from '../lib/redis-server.js';
import { startS3Server } from '../lib/s3-server.js';
import { layeredPdf } from '../lib/text-pdfs.js';
import { runFleet } from './lib/fleet.js';
import { generateScans } from './lib/scans.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cpus = os.availableParallelism();
const { values: args } = parseArgs({
  options: { scans: { type: 'string', default: '55' }, 'text-pages': { type: 'string', default: '500' } },
});
const work = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-storage-'));
const logFile = path.join(work, 'apps.log');
await mkdir(path.join(work, 'redis'));
const redis = await startRedisServer(path.join(work, 'redis'), false);
const s3 = await startS3Server(path.join(work, 's3'), 'bench');
process.once('exit', () => {
  redis.child.kill('SIGKILL');
  s3.child.kill('SIGKILL');
});

const scans = Number(args.scans);
const textPages = Number(args['text-pages']);
const scanned = (await generateScans(work, scans, scans)).documents[0] as string;
const bornDigital = path.join(work, 'born-digital.pdf');
await writeFile(
  bornDigital,
  await layeredPdf(Array.from({ length: textPages }, (_, i) => ({ kind: 'text', lines: wordLines(i + 1, 40) }))),
);
const documents = [
  { name: `${scans}-page scanned PDF (OCR)`, file: scanned, pages: scans },
  { name: `${textPages}-page born-digital PDF (text layer)`, file: bornDigital, pages: textPages },
];
console.log(`pagefleet bench:storage — ${cpus} CPUs, Node ${process.version}; work dir ${work}`);

interface Run {
  document: string;
  pages: number;
  fileBytes: number;
  storage: 'filesystem' | 's3';
  seconds: number;
  /** Slot-seconds per page: wall time × slots ÷ pages. */
  secondsPerPage: number;
  fetchedBytesPerPage: number;
}
const runs: Run[] = [];
for (const doc of documents) {
  const bytes = (await stat(doc.file)).size;
  for (const storage of ['filesystem', 's3'] as const) {
    const run = await runFleet({
      redisUrl: redis.url,
      workDir: work,
      logFile,
      documents: [doc.file],
      pageCount: doc.pages,
      dpi: 300,
      workers: 1,
      slots: cpus,
      env: storage === 's3' ? { ...s3.env, S3_PREFIX: `run-${runs.length}/` } : {},
    });
    const result: Run = {
      document: doc.name,
      pages: doc.pages,
      fileBytes: bytes,
      storage,
      seconds: run.seconds,
      secondsPerPage: (run.seconds * cpus) / doc.pages,
      fetchedBytesPerPage: run.fetchedBytes / doc.pages,
    };
    runs.push(result);
    console.log(
      `${doc.name}, ${storage}: ${run.seconds.toFixed(1)} s, ${result.secondsPerPage.toFixed(3)} slot-s/page, ${(result.fetchedBytesPerPage / 1024).toFixed(1)} KiB fetched/page`,
    );
  }
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const rows = documents.map((doc) => {
  const [fs, s3run] = runs.filter((run) => run.document === doc.name) as [Run, Run];
  return { doc, fs, s3: s3run, overhead: s3run.seconds / fs.seconds - 1 };
});
const report = {
  measuredAt: new Date().toISOString().slice(0, 10),
  machine: { cpus, memoryBytes: os.totalmem(), node: process.version },
  runs,
  overhead: rows.map(({ doc, overhead }) => ({ document: doc.name, share: overhead })),
};
const markdown = `# Storage: the filesystem against S3

Written by \`npm run bench:storage\` on ${report.measuredAt}: ${cpus} CPUs, Node ${process.version}. Each document
end to end (API, one worker with ${cpus} slots, Redis), once with \`STORAGE=filesystem\` (one shared
\`DATA_DIR\`) and once with \`STORAGE=s3\` against s3rver on this machine, the API and the worker each
on a \`DATA_DIR\` of its own. s3rver is a Node process on the same ${cpus} CPUs: its CPU time is taken
from the pages here, where a real S3 is on other machines. Target: storage overhead ≤ 5% of page time.

With S3 a multi-page PDF is split once, by a split job a worker runs (\`qpdf --split-pages\`, which keeps
only the objects each page uses), and a page's worker fetches its own one-page PDF: the fetched
column, from the workers' \`pagefleet_page_input_fetched_bytes_total\`. The split job itself fetches
the whole file once per document, besides. Without the split each page would fetch the whole file:
the last column.

| document | storage | seconds | slot-seconds per page | fetched per page | whole file per page |
|---|---|---|---|---|---|
${runs
  .map(
    (run) =>
      `| ${run.document} | ${run.storage} | ${run.seconds.toFixed(1)} | ${run.secondsPerPage.toFixed(3)} | ${kib(run.fetchedBytesPerPage)} | ${run.storage === 's3' ? kib(run.fileBytes) : '—'} |`,
  )
  .join('\n')}

${rows
  .map(
    ({ doc, overhead }) =>
      `- ${doc.name}: S3 ${overhead >= 0 ? '+' : ''}${(overhead * 100).toFixed(1)}% against the filesystem (target ≤ 5%: ${overhead <= 0.05 ? 'met' : 'missed'}).`,
  )
  .join('\n')}
`;
await writeFile(path.join(root, 'docs', 'storage.json'), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(path.join(root, 'docs', 'storage.md'), markdown);
console.log('wrote docs/storage.json and docs/storage.md');
await s3.stop();
await redis.stop();
await rm(work, { recursive: true, force: true });

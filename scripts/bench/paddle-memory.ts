// `npm run bench:paddle-memory`: what PaddleOCR costs a worker, measured on real inference: the
// models' memory and each slot's, with 1, 2 and 4 slots reading at once ordinary scans and hostile
// pages (a 20000×20000 PNG, a poster-sized scan); CORPUS_DIR's receipts join them when set.
// Writes the `paddle` figures of apps/worker/memory-profile.json, docs/paddle-memory.json and
// docs/paddle-memory.md.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig, mebibytes } from '@pagefleet/shared';
import { planCapacity } from '../../apps/worker/src/capacity/plan.js';
import { loadMemoryProfile, MEMORY_PROFILE_FILE } from '../../apps/worker/src/capacity/profile.js';
import { scannedPage } from '../lib/fixtures.js';
import { hugePng, posterPng } from './lib/hostile.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-paddle-memory-'));
const config = loadConfig({ LOG_LEVEL: 'silent' });

const images: Array<{ name: string; file: string }> = [];
for (const seed of [1, 2]) {
  const file = path.join(work, `scan-${seed}.jpg`);
  await writeFile(file, await scannedPage(seed));
  images.push({ name: `generated 300-DPI letter scan ${seed}`, file });
}
const huge = path.join(work, 'huge.png');
await writeFile(huge, await hugePng());
images.push({ name: '20000×20000 PNG', file: huge });
const poster = path.join(work, 'poster.png');
await writeFile(poster, await posterPng());
images.push({ name: 'poster: a scan at 7000 px wide', file: poster });
const corpus = process.env.CORPUS_DIR;
if (corpus) {
  const accuracy = path.join(corpus, 'accuracy');
  for (const name of (await readdir(accuracy))
    .filter((file) => file.startsWith('sroie_receipt_') && file.endsWith('.jpg'))
    .sort()) {
    images.push({ name, file: path.join(accuracy, name) });
  }
}
console.log(`pagefleet bench:paddle-memory — ${images.length} pages: ${images.map((image) => image.name).join(', ')}`);

interface SlotRun {
  slots: number;
  beforeBytes: number;
  loadedBytes: number;
  peakBytes: number;
  pagesPerMinute: number;
}
const harness = path.join(root, 'scripts/bench/lib/paddle-slots.ts');
const tsx = path.join(root, 'node_modules/.bin/tsx');
const runs: SlotRun[] = [];
for (const slots of [1, 2, 4]) {
  const { stdout } = await promisify(execFile)(tsx, [harness, String(slots), '1', ...images.map((i) => i.file)], {
    env: { ...process.env, MALLOC_ARENA_MAX: '2' },
    maxBuffer: 1 << 20,
  });
  const measured = JSON.parse(stdout.trim().split('\n').at(-1) as string) as {
    before: number;
    loaded: number;
    peak: number;
    seconds: number;
  };
  const run = {
    slots,
    beforeBytes: measured.before,
    loadedBytes: measured.loaded,
    peakBytes: measured.peak,
    pagesPerMinute: Math.round(((slots * images.length) / measured.seconds) * 60 * 10) / 10,
  };
  runs.push(run);
  console.log(
    `${slots} slot(s): before ${mebibytes(run.beforeBytes)} MiB, models loaded ${mebibytes(run.loadedBytes)} MiB, peak ${mebibytes(run.peakBytes)} MiB, ${run.pagesPerMinute} pages/min`,
  );
}

// The models' memory over a process without them; a slot's, the worst of (peak − loaded) / slots.
const baseBytes = Math.max(...runs.map((run) => run.loadedBytes - run.beforeBytes));
const slotBytes = Math.max(...runs.map((run) => (run.peakBytes - run.loadedBytes) / run.slots));
const profile = loadMemoryProfile();
profile.paddle = {
  baseBytes: Math.round(baseBytes),
  slotBytes: Math.round(slotBytes),
  measured: {
    at: new Date().toISOString().slice(0, 10),
    on: `npm run bench:paddle-memory on ${os.availableParallelism()} CPUs, Node ${process.version}`,
    pages: images.map((image) => image.name).join(', '),
  },
};
const tiers = ['1Gi', '2Gi', '4Gi', '8Gi'].map((tier) => {
  const budget = { '1Gi': 2 ** 30, '2Gi': 2 ** 31, '4Gi': 2 ** 32, '8Gi': 2 ** 33 }[tier] as number;
  const plan = planCapacity({
    tier: budget,
    machine: { memoryBytes: os.totalmem(), cpus: 64 },
    profile,
    largePagePixels: config.LARGE_PAGE_PIXELS,
    maxPagePixels: config.MAX_PAGE_PIXELS,
    paddleInstalled: true,
  });
  return { tier, queues: Object.fromEntries(plan.queues.map((entry) => [entry.queue, entry.slots])) };
});
await writeFile(MEMORY_PROFILE_FILE, `${JSON.stringify(profile, null, 2)}\n`);
const report = {
  machine: { cpus: os.availableParallelism(), node: process.version },
  images,
  runs,
  profile: profile.paddle,
  tiers,
};
await writeFile(path.join(root, 'docs/paddle-memory.json'), `${JSON.stringify(report, null, 2)}\n`);
const md = [
  '# PaddleOCR memory (`npm run bench:paddle-memory`)',
  '',
  `Measured ${profile.paddle.measured.at} ${profile.paddle.measured.on}; pages: ${profile.paddle.measured.pages}. Each run is one process reading every page once per slot, all slots at once.`,
  '',
  '| slots | before models (MiB) | models loaded (MiB) | peak (MiB) | pages/min |',
  '| ---: | ---: | ---: | ---: | ---: |',
  ...runs.map(
    (run) =>
      `| ${run.slots} | ${mebibytes(run.beforeBytes)} | ${mebibytes(run.loadedBytes)} | ${mebibytes(run.peakBytes)} | ${run.pagesPerMinute} |`,
  ),
  '',
  `Profile: the models add ${mebibytes(profile.paddle.baseBytes)} MiB to a worker, each pages-paddle slot ${mebibytes(profile.paddle.slotBytes)} MiB (plus a Tesseract pass over a page of MAX_PAGE_PIXELS, for engine=auto).`,
  '',
  '| tier | slots planned per queue |',
  '| --- | --- |',
  ...tiers.map(
    (tier) =>
      `| ${tier.tier} | ${Object.entries(tier.queues)
        .map(([queue, slots]) => `${queue} ${slots}`)
        .join(', ')} |`,
  ),
  '',
].join('\n');
await writeFile(path.join(root, 'docs/paddle-memory.md'), md);
console.log(
  `\nPaddleOCR: models ${mebibytes(baseBytes)} MiB, ${mebibytes(slotBytes)} MiB per slot; wrote apps/worker/memory-profile.json, docs/paddle-memory.{json,md}`,
);
await rm(work, { recursive: true, force: true });

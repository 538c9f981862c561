// `npm run bench:region-memory`: what the thread a worker keeps for hybrid pages' images (a
// tesseract.js thread beside Tesseract's command, RegionOcr) adds to a process, reading images of
// up to the pixels it is allowed: the bench's figures at 200 DPI and a crop of a 300-DPI letter
// scan as dense with text as a page gets. Writes the `regionThread` figures of
// apps/worker/memory-profile.json and docs/region-memory.json.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp, { type Sharp } from 'sharp';
import { mebibytes } from '@pagefleet/shared';
import { loadMemoryProfile, MEMORY_PROFILE_FILE } from '../../apps/worker/src/capacity/profile.js';
import { scannedPage } from '../lib/fixtures.js';
import { figure } from '../lib/text-pdfs.js';

/**
 * The most pixels the thread reads: a figure of half a letter page at 200 DPI (1700 × 2350 is
 * 4.0 M). A larger image goes to the command, so the thread's memory stays what is measured here.
 */
const MAX_PIXELS = 4_000_000;
const ROUNDS = 3;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-region-memory-'));
const images: Array<{ name: string; file: string; pixels: number }> = [];
const add = async (name: string, image: Sharp) => {
  const file = path.join(work, `${images.length}.png`);
  const info = await image.png().toFile(file);
  images.push({ name, file, pixels: info.width * info.height });
};
// Figures are drawn 6 × 3 in at 300 DPI; at the page's 200 DPI a region is 1200 × 600.
const figures = [
  ['words', ['Quarterly harvest report', 'apples oranges pears plums']],
  ['chart', ['Rainfall by season', 'Spring', 'Summer', 'Autumn', 'Winter']],
  ['picture', []],
] as const;
for (const [kind, words] of figures) {
  await add(`figure: ${kind}, 1200×600`, sharp(await figure(kind, [...words])).resize(1200, 600));
}
const side = Math.floor(Math.sqrt(MAX_PIXELS));
await add(
  `a 300-DPI letter scan's text, ${side}×${side}`,
  sharp(await scannedPage(1)).extract({ left: 0, top: 150, width: side, height: side }),
);
console.log(`pagefleet bench:region-memory — ${images.map((image) => image.name).join('; ')}; ${ROUNDS} rounds`);

const harness = path.join(root, 'scripts/bench/lib/region-thread.ts');
const tsx = path.join(root, 'node_modules/.bin/tsx');
const { stdout } = await promisify(execFile)(tsx, [harness, String(ROUNDS), ...images.map((image) => image.file)], {
  env: { ...process.env, MALLOC_ARENA_MAX: '2', REGION_MAX_PIXELS: String(MAX_PIXELS) },
  maxBuffer: 1 << 20,
});
const measured = JSON.parse(stdout.trim().split('\n').at(-1) as string) as {
  before: number;
  loaded: number;
  peak: number;
  words: number;
  seconds: number;
  reads: number;
};
const bytes = measured.peak - measured.before;
const profile = loadMemoryProfile();
profile.regionThread = {
  bytes,
  maxPixels: MAX_PIXELS,
  measured: {
    at: new Date().toISOString().slice(0, 10),
    on: `npm run bench:region-memory on ${os.availableParallelism()} CPUs, Node ${process.version}`,
    pages: images.map((image) => image.name).join(', '),
  },
};
await writeFile(MEMORY_PROFILE_FILE, `${JSON.stringify(profile, null, 2)}\n`);
await writeFile(
  path.join(root, 'docs/region-memory.json'),
  `${JSON.stringify({ machine: { cpus: os.availableParallelism(), node: process.version }, images, rounds: ROUNDS, ...measured }, null, 2)}\n`,
);
console.log(
  `process ${mebibytes(measured.before)} MiB, thread started ${mebibytes(measured.loaded)} MiB, peak ${mebibytes(measured.peak)} MiB: the thread adds ${mebibytes(bytes)} MiB; ${measured.reads} images in ${measured.seconds.toFixed(1)} s, ${measured.words} words; wrote apps/worker/memory-profile.json, docs/region-memory.json`,
);
await rm(work, { recursive: true, force: true });

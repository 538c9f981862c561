// One process of bench:region-memory: the thread a worker keeps for hybrid pages' images
// (RegionOcr's tesseract.js thread), reading the images named on the command line `rounds` times;
// prints its memory as JSON.
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { loadConfig } from '@pagefleet/shared';
import { createRegionEngine } from '../../../apps/worker/src/pipeline/engine.js';
import { preprocess } from '../../../apps/worker/src/pipeline/preprocess.js';

const [rounds = '1', ...images] = process.argv.slice(2);
const status = (field: string) =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;

const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
const MAX_PIXELS = Number(process.env.REGION_MAX_PIXELS);
// As a worker makes it: images one at a time, each on the thread (none past MAX_PIXELS is given).
const thread = createRegionEngine(config, { count: 1, maxPixels: MAX_PIXELS }, pino({ level: 'silent' }));
if (!thread) throw new Error("the thread is kept beside Tesseract's command only: install tesseract-ocr");
const signal = new AbortController().signal;
const pages = await Promise.all(images.map((image) => preprocess({ image, index: 0 }, config.MAX_PAGE_PIXELS)));
const before = status('VmRSS');
await thread.warmUp('eng');
const loaded = status('VmRSS');
const started = performance.now();
let words = 0;
for (let round = 0; round < Number(rounds); round++) {
  for (const page of pages) words += (await thread.recognize(page, 'eng', signal)).words.length;
}
const seconds = (performance.now() - started) / 1000;
await thread.close();
console.log(
  JSON.stringify({ before, loaded, peak: status('VmHWM'), words, seconds, reads: pages.length * Number(rounds) }),
);

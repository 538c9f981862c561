import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OcrEngine, OcrOutput } from './ocr.js';
import { RegionOcr } from './region-ocr.js';

/** An engine that answers when told to, and says who read what; its warm-up fails where `broken`. */
function engine(name: string, log: string[], broken = false) {
  const pending: Array<() => void> = [];
  const ocr: OcrEngine = {
    recognize: (page) => {
      log.push(`${name} ${page.width}x${page.height}`);
      return new Promise<OcrOutput>((resolve) =>
        pending.push(() => resolve({ text: name, confidence: 90, words: [], blocks: [], formats: {} })),
      );
    },
    warmUp: () => (broken ? Promise.reject(new Error(`${name} did not start`)) : Promise.resolve()),
    close: () => Promise.resolve(),
  };
  return { ocr, finishAll: () => pending.splice(0).forEach((finish) => finish()) };
}

const image = (width: number, height: number) => ({ pgm: Buffer.alloc(0), width, height, dpi: 200 });
const signal = new AbortController().signal;

test('hybrid pages’ images go to a free thread; to the command when every thread reads, or past the pixels planned', async () => {
  const log: string[] = [];
  const threads = engine('thread', log);
  const command = engine('command', log);
  let bothStarted = () => undefined as void;
  const started = new Promise<void>((resolve) => (bothStarted = resolve));
  const regions = new RegionOcr(threads.ocr, 2, command.ocr, 1_000_000, {
    onStarted: (count) => count === 2 && bothStarted(),
  });
  await regions.warmUp('eng');
  await started;
  const first = regions.recognize(image(1000, 500), 'eng', signal);
  const second = regions.recognize(image(1000, 600), 'eng', signal);
  const third = regions.recognize(image(1000, 700), 'eng', signal);
  const large = regions.recognize(image(1000, 1001), 'eng', signal);
  assert.deepEqual(log, ['thread 1000x500', 'thread 1000x600', 'command 1000x700', 'command 1000x1001']);
  threads.finishAll();
  command.finishAll();
  assert.deepEqual(
    (await Promise.all([first, second, third, large])).map((read) => read.text),
    ['thread', 'thread', 'command', 'command'],
  );
  // The threads are free again.
  const again = regions.recognize(image(1000, 800), 'eng', signal);
  assert.equal(log.at(-1), 'thread 1000x800');
  threads.finishAll();
  await again;
});

test('until the threads have started, and where they cannot, the command reads every image', async () => {
  const log: string[] = [];
  const failures: unknown[] = [];
  const threads = engine('thread', log, true);
  const command = engine('command', log);
  const regions = new RegionOcr(threads.ocr, 1, command.ocr, 1_000_000, { onStartFailed: (err) => failures.push(err) });
  const before = regions.recognize(image(1000, 500), 'eng', signal);
  await regions.warmUp('eng');
  const after = regions.recognize(image(1000, 600), 'eng', signal);
  assert.deepEqual(log, ['command 1000x500', 'command 1000x600']);
  assert.match(String(failures[0]), /thread did not start/);
  command.finishAll();
  await Promise.all([before, after]);
});

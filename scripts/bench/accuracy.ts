// `npm run bench:accuracy`: character and word error rates (scripts/lib/error-rates.ts says how
// texts are normalized) of pagefleet and of native tesseract on the same page images, against
// ground truth: generated scans, and CORPUS_DIR's English accuracy pages when it is set. Writes
// docs/accuracy.json and docs/accuracy.md.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger, findLanguageFile, loadConfig } from '@pagefleet/shared';
import { createOcrEngine } from '../../apps/worker/src/pipeline/engine.js';
import { OrientationDetector } from '../../apps/worker/src/pipeline/orientation.js';
import { readUpright, ROTATE_BELOW_CONFIDENCE } from '../../apps/worker/src/pipeline/page.js';
import { preprocess } from '../../apps/worker/src/pipeline/preprocess.js';
import { characterErrors, rate, wordErrors, type ErrorCount } from '../lib/error-rates.js';
import { nativeTessdata } from './lib/native.js';
import { corpusTruthPages, generatedTruthPages } from './lib/truth-pages.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({ options: { generated: { type: 'string', default: '6' } } });
const work = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-accuracy-'));

const corpus = process.env.CORPUS_DIR;
const pages = [
  ...(await generatedTruthPages(work, Number(args.generated))),
  ...(corpus ? await corpusTruthPages(corpus) : []),
];
console.log(
  `pagefleet bench:accuracy — ${pages.length} pages (${corpus ? `generated and ${corpus}` : 'generated; set CORPUS_DIR for the corpus'})`,
);

const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
const log = createLogger(config, 'bench');
const ocr = createOcrEngine(config, 1, log);
const orientation = config.AUTO_ROTATE ? new OrientationDetector() : undefined;
const signal = new AbortController().signal;
/** What a worker does with an uploaded image, configured by the environment (defaults when unset): preprocess, OCR, upright check. */
async function pagefleetText(image: string): Promise<string> {
  const prepared = await preprocess({ image, index: 0 }, config.MAX_PAGE_PIXELS);
  return (
    await readUpright(prepared, { languages: 'eng', formats: [] }, { ocr, orientation }, (_name, work) => work(signal))
  ).ocr.text;
}

const model = findLanguageFile('eng', { model: config.OCR_MODEL }) as string;
const tessdata = await nativeTessdata(work, config.OCR_MODEL);
if (!tessdata) console.log('native tesseract is not installed (apt-get install tesseract-ocr): pagefleet only');
/** `tesseract IMAGE stdout` with the same model, LSTM engine and page segmentation as pagefleet. */
function nativeText(image: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'tesseract',
      [image, 'stdout', '--tessdata-dir', tessdata as string, '-l', 'eng', '--oem', '1', '--psm', '3'],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: { ...process.env, OMP_THREAD_LIMIT: '1' },
      },
    );
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`tesseract exited ${code} on ${image}`)),
    );
  });
}

interface Scores {
  cer: ErrorCount;
  wer: ErrorCount;
}
const score = (truth: string, text: string): Scores => ({
  cer: characterErrors(truth, text),
  wer: wordErrors(truth, text),
});
const rows: Array<{ name: string; pagefleet: Scores; native?: Scores }> = [];
try {
  for (const page of pages) {
    const ours = score(page.truth, await pagefleetText(page.image));
    const theirs = tessdata ? score(page.truth, await nativeText(page.image)) : undefined;
    rows.push({ name: page.name, pagefleet: ours, ...(theirs ? { native: theirs } : {}) });
    console.log(
      `${page.name}: pagefleet CER ${rate(ours.cer).toFixed(3)} WER ${rate(ours.wer).toFixed(3)}${theirs ? `; native CER ${rate(theirs.cer).toFixed(3)} WER ${rate(theirs.wer).toFixed(3)}` : ''}`,
    );
  }
} finally {
  await Promise.all([ocr.close(), orientation?.close()]);
}

/** Errors over all pages ÷ reference length over all pages: long pages weigh more. */
const overall = (pick: (row: (typeof rows)[number]) => ErrorCount | undefined) => {
  const counts = rows.map(pick).filter((count): count is ErrorCount => count !== undefined);
  return counts.length === 0
    ? undefined
    : rate({ errors: counts.reduce((n, c) => n + c.errors, 0), length: counts.reduce((n, c) => n + c.length, 0) });
};
const fixed = (value: number | undefined) => (value === undefined ? '—' : value.toFixed(3));
const summary = {
  pagefleet: { cer: overall((row) => row.pagefleet.cer), wer: overall((row) => row.pagefleet.wer) },
  native: tessdata ? { cer: overall((row) => row.native?.cer), wer: overall((row) => row.native?.wer) } : undefined,
};
const report = {
  measuredAt: new Date().toISOString().slice(0, 10),
  model: `eng ${config.OCR_MODEL} (${model}), LSTM, PSM 3`,
  pages: rows,
  overall: summary,
};
const verdict =
  summary.native?.cer === undefined || summary.pagefleet.cer === undefined
    ? 'no native run'
    : summary.pagefleet.cer <= summary.native.cer
      ? 'met'
      : 'missed';
const markdown = `# Accuracy: pagefleet against native Tesseract

Written by \`npm run bench:accuracy\` on ${report.measuredAt}. Same page images, same model (${report.model}).
pagefleet reads each image as a worker does (sharp: gray, pixel cap, the image's DPI; engine
${config.OCR_ENGINE}${config.OCR_ENGINE === 'tesseract.js' && config.DESKEW ? ' with deskew' : ''}; ${config.AUTO_ROTATE ? `pages read below ${ROTATE_BELOW_CONFIDENCE} confidence checked for orientation` : 'no orientation check'}); native is \`tesseract IMAGE stdout --oem 1 --psm 3\`. Texts are compared after Unicode NFC and with
every run of whitespace made one space; case and punctuation count. Overall rates are errors over all
pages ÷ reference characters (words) over all pages. Target: pagefleet's CER ≤ native's.

| page | pagefleet CER | native CER | pagefleet WER | native WER |
|---|---|---|---|---|
${rows.map((row) => `| ${row.name} | ${fixed(rate(row.pagefleet.cer))} | ${fixed(row.native && rate(row.native.cer))} | ${fixed(rate(row.pagefleet.wer))} | ${fixed(row.native && rate(row.native.wer))} |`).join('\n')}
| **overall** | **${fixed(summary.pagefleet.cer)}** | **${fixed(summary.native?.cer)}** | **${fixed(summary.pagefleet.wer)}** | **${fixed(summary.native?.wer)}** |

pagefleet CER ≤ native CER overall: ${verdict}.
`;
await writeFile(path.join(root, 'docs', 'accuracy.json'), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(path.join(root, 'docs', 'accuracy.md'), markdown);
console.log(
  `\noverall CER pagefleet ${fixed(summary.pagefleet.cer)}, native ${fixed(summary.native?.cer)} (${verdict}); WER ${fixed(summary.pagefleet.wer)} / ${fixed(summary.native?.wer)}\nwrote docs/accuracy.json and docs/accuracy.md`,
);
await rm(work, { recursive: true, force: true });

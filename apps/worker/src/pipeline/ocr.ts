import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createWorker, OEM, PSM, type Worker as TesseractWorker } from 'tesseract.js';
import { languageFiles, type WordResult } from '@pagefleet/shared';
import type { PreparedPage } from './preprocess.js';

export interface OcrOutput {
  text: string;
  confidence: number;
  words: WordResult[];
}

interface Slot {
  tesseract: TesseractWorker;
  languages: string;
}

/**
 * One tesseract.js worker (a worker thread) per slot, created on first use and reused; a slot is
 * re-initialized only when a page asks for other languages.
 *
 * tesseract.js reads every language from one `langPath`, while ours come from several places
 * (npm packages, TESSDATA_DIR), so the pool links each file it needs into a private folder.
 * Files are named `<lang>.traineddata` whether gzipped or not: tesseract.js unzips by magic bytes.
 */
export class OcrPool {
  private readonly idle: Slot[] = [];
  private readonly waiters: Array<(slot: Slot | undefined) => void> = [];
  private readonly linked = new Set<string>();
  private created = 0;
  private langDir: Promise<string> | undefined;

  constructor(
    private readonly slots: number,
    private readonly tessdataDir: string | undefined,
  ) {}

  async recognize(page: PreparedPage, languages: string): Promise<OcrOutput> {
    const slot = await this.acquire(languages);
    let healthy = false;
    try {
      await slot.tesseract.setParameters({
        tessedit_pageseg_mode: PSM.AUTO,
        // 0 lets Tesseract estimate the resolution of an image that does not state one.
        user_defined_dpi: String(page.dpi ?? 0),
        // Tesseract's diagnostics ("Estimating resolution as …") would otherwise go to stdout.
        debug_file: '/dev/null',
      });
      const { data } = await slot.tesseract.recognize(page.pgm, {}, { text: true, blocks: true });
      healthy = true;
      const words: WordResult[] = [];
      for (const block of data.blocks ?? []) {
        for (const paragraph of block.paragraphs) {
          for (const line of paragraph.lines) {
            for (const word of line.words) {
              words.push({ text: word.text, confidence: round(word.confidence), bbox: word.bbox });
            }
          }
        }
      }
      return { text: data.text, confidence: round(data.confidence), words };
    } finally {
      this.release(slot, healthy);
    }
  }

  async close(): Promise<void> {
    const slots = this.idle.splice(0);
    await Promise.all(slots.map((slot) => slot.tesseract.terminate()));
    if (this.langDir) await rm(await this.langDir, { recursive: true, force: true });
  }

  private async acquire(languages: string): Promise<Slot> {
    const same = this.idle.findIndex((slot) => slot.languages === languages);
    if (same >= 0) return this.idle.splice(same, 1)[0] as Slot;
    if (this.created < this.slots) {
      this.created++;
      try {
        return { tesseract: await this.start(languages), languages };
      } catch (err) {
        this.created--;
        throw err;
      }
    }
    const other = this.idle.pop() ?? (await new Promise<Slot | undefined>((resolve) => this.waiters.push(resolve)));
    if (!other) return this.acquire(languages);
    await this.link(languages);
    await other.tesseract.reinitialize(languages, OEM.LSTM_ONLY);
    other.languages = languages;
    return other;
  }

  /** A worker whose recognize threw may be in any state: it is terminated, and its slot freed. */
  private release(slot: Slot, healthy: boolean): void {
    if (!healthy) {
      this.created--;
      void slot.tesseract.terminate().catch(() => undefined);
      this.waiters.shift()?.(undefined);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter(slot);
    else this.idle.push(slot);
  }

  private async start(languages: string): Promise<TesseractWorker> {
    const langPath = await this.link(languages);
    return createWorker(languages, OEM.LSTM_ONLY, { langPath, gzip: false, cacheMethod: 'none' });
  }

  private async link(languages: string): Promise<string> {
    this.langDir ??= mkdtemp(path.join(os.tmpdir(), 'pagefleet-tessdata-'));
    const dir = await this.langDir;
    for (const [language, file] of languageFiles(languages, this.tessdataDir)) {
      if (this.linked.has(language)) continue;
      this.linked.add(language);
      await symlink(file, path.join(dir, `${language}.traineddata`));
    }
    return dir;
  }
}

const round = (value: number) => Math.round(value * 100) / 100;

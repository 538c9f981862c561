import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { languageFiles, runTool, SYSTEM_TESSDATA, type OcrModel, type PageFormat } from '@pagefleet/shared';
import { meanConfidence, wordsFromTsv, type OcrEngine, type OcrOutput } from './ocr.js';
import type { PreparedPage } from './preprocess.js';

export interface NativeOcrOptions {
  tessdataDir: string | undefined;
  model: OcrModel;
}

const FONT = path.join(SYSTEM_TESSDATA, 'pdf.ttf');

/** A child's own timeout, kept only as a backstop: the page's deadline aborts it first. */
const CHILD_TIMEOUT_MS = 3_600_000;

/**
 * Tesseract's own command (Debian's tesseract-ocr), one child process per page: the page's PGM in
 * a private folder, text, TSV and the formats asked for written beside it, read back, removed.
 * The child is killed when the page's deadline aborts; nothing outlives the page.
 *
 * The command reads plain traineddata from one folder, so each language file is linked there, or
 * unzipped once where it is gzipped (npm's best_int models).
 */
export class NativeOcr implements OcrEngine {
  private langDir: Promise<string> | undefined;
  private readonly ready = new Map<string, Promise<void>>();

  constructor(private readonly options: NativeOcrOptions) {}

  async recognize(page: PreparedPage, languages: string, signal: AbortSignal, formats: readonly PageFormat[] = []): Promise<OcrOutput> {
    const tessdata = await this.link(languages);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-page-'));
    try {
      const input = path.join(dir, 'page.pgm');
      const base = path.join(dir, 'page');
      await writeFile(input, page.pgm);
      // Variables rather than the txt/tsv/hocr/pdf config files, which live in the system's tessdata.
      const create = (name: string, on: boolean) => ['-c', `tessedit_create_${name}=${on ? 1 : 0}`];
      const outputs = [...create('txt', true), ...create('tsv', true), ...create('hocr', formats.includes('hocr')), ...create('pdf', formats.includes('pdf'))];
      await runTool(
        'tesseract',
        [input, base, '--tessdata-dir', tessdata, '-l', languages, '--oem', '1', '--psm', '3', ...(page.dpi ? ['--dpi', String(page.dpi)] : []), '-c', 'page_separator=', ...outputs],
        // One thread per child: a worker's slots already use its CPUs.
        { timeoutMs: CHILD_TIMEOUT_MS, maxBytes: 1 << 20, signal, env: { OMP_THREAD_LIMIT: '1' } },
      );
      const tsv = await readFile(`${base}.tsv`, 'utf8');
      const words = wordsFromTsv(tsv);
      const files: OcrOutput['formats'] = {};
      if (formats.includes('tsv')) files.tsv = Buffer.from(tsv, 'utf8');
      if (formats.includes('hocr')) files.hocr = await readFile(`${base}.hocr`);
      if (formats.includes('pdf')) files.pdf = await readFile(`${base}.pdf`);
      return { text: await readFile(`${base}.txt`, 'utf8'), confidence: meanConfidence(words), words, formats: files };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Prepares the languages' data and proves the command runs. */
  async warmUp(languages: string): Promise<void> {
    await this.link(languages);
    await runTool('tesseract', ['--version'], { timeoutMs: 10_000, maxBytes: 1 << 16 });
  }

  async close(): Promise<void> {
    if (this.langDir) await rm(await this.langDir, { recursive: true, force: true });
  }

  private async link(languages: string): Promise<string> {
    this.langDir ??= mkdtemp(path.join(os.tmpdir(), 'pagefleet-tessdata-'));
    const dir = await this.langDir;
    // The PDF renderer's glyphless font, which Tesseract looks for beside the traineddata.
    if (!this.ready.has('pdf.ttf') && existsSync(FONT)) this.ready.set('pdf.ttf', symlink(FONT, path.join(dir, 'pdf.ttf')));
    await this.ready.get('pdf.ttf');
    const files = languageFiles(languages, this.options);
    await Promise.all(
      [...files].map(([language, file]) => {
        let ready = this.ready.get(language);
        if (!ready) {
          const target = path.join(dir, `${language}.traineddata`);
          ready = file.endsWith('.gz') ? pipeline(createReadStream(file), createGunzip(), createWriteStream(target)) : symlink(file, target);
          this.ready.set(language, ready);
        }
        return ready;
      }),
    );
    return dir;
  }
}

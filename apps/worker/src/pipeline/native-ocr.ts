import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runTool, SYSTEM_TESSDATA, type OcrModel, type PageFormat } from '@pagefleet/shared';
import { LanguageFolder } from './language-folder.js';
import { meanConfidence, wordsFromTsv, type OcrEngine, type OcrOutput } from './ocr.js';
import type { PreparedPage } from './preprocess.js';
import { CHILD_TIMEOUT_MS } from './deadline.js';

export interface NativeOcrOptions {
  tessdataDir: string | undefined;
  model: OcrModel;
}

const FONT = path.join(SYSTEM_TESSDATA, 'pdf.ttf');

/**
 * Tesseract's own command (Debian's tesseract-ocr), one child process per page: the page's PGM in
 * a private folder, text, TSV and the formats asked for written beside it, read back, removed.
 * The child is killed when the page's deadline aborts; nothing outlives the page.
 *
 * The command reads plain traineddata from one folder: a LanguageFolder that unzips gzipped files
 * (npm's best_int models).
 */
export class NativeOcr implements OcrEngine {
  private readonly tessdata: LanguageFolder;
  private font: Promise<void> | undefined;

  constructor(options: NativeOcrOptions) {
    this.tessdata = new LanguageFolder(options, true);
  }

  async recognize(
    page: PreparedPage,
    languages: string,
    signal: AbortSignal,
    formats: readonly PageFormat[] = [],
  ): Promise<OcrOutput> {
    const tessdata = await this.tessdata.holding(languages);
    // The PDF renderer's glyphless font, which Tesseract looks for beside the traineddata.
    if (formats.includes('pdf')) await (this.font ??= this.tessdata.beside('pdf.ttf', FONT));
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-page-'));
    try {
      const input = path.join(dir, 'page.pgm');
      const base = path.join(dir, 'page');
      await writeFile(input, page.pgm);
      // Variables rather than the txt/tsv/hocr/pdf config files, which live in the system's tessdata.
      const create = (name: string, on: boolean) => ['-c', `tessedit_create_${name}=${on ? 1 : 0}`];
      const outputs = [
        ...create('txt', true),
        ...create('tsv', true),
        ...create('hocr', formats.includes('hocr')),
        ...create('pdf', formats.includes('pdf')),
      ];
      await runTool(
        'tesseract',
        [
          input,
          base,
          '--tessdata-dir',
          tessdata,
          '-l',
          languages,
          '--oem',
          '1',
          '--psm',
          '3',
          ...(page.dpi ? ['--dpi', String(page.dpi)] : []),
          '-c',
          'page_separator=',
          ...outputs,
        ],
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
    await this.tessdata.holding(languages);
    await runTool('tesseract', ['--version'], { timeoutMs: 10_000, maxBytes: 1 << 16 });
  }

  async close(): Promise<void> {
    this.font = undefined;
    await this.tessdata.remove();
  }
}

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runTool, type OcrModel, type PageFormat } from '@pagefleet/shared';
import { LanguageFolder } from './language-folder.js';
import { layoutFromTsv, layoutOutput, type OcrEngine, type OcrOutput } from './ocr.js';
import type { PreparedPage } from './preprocess.js';
import { CHILD_TIMEOUT_MS } from './deadline.js';

export interface NativeOcrOptions {
  tessdataDir: string | undefined;
  model: OcrModel;
}

/**
 * Tesseract's own command (Debian's tesseract-ocr), one child process per page: the page's PGM in
 * a private folder, its TSV written beside it, read back, removed.
 * The child is killed when the page's deadline aborts; nothing outlives the page.
 *
 * The command reads plain traineddata from one folder: a LanguageFolder that unzips gzipped files
 * (npm's best_int models).
 */
export class NativeOcr implements OcrEngine {
  private readonly tessdata: LanguageFolder;
  /** Reads under way, each until its folder is removed. */
  private readonly reading = new Set<Promise<OcrOutput>>();

  constructor(options: NativeOcrOptions) {
    this.tessdata = new LanguageFolder(options, true);
  }

  async recognize(
    page: PreparedPage,
    languages: string,
    signal: AbortSignal,
    formats: readonly PageFormat[] = [],
  ): Promise<OcrOutput> {
    const read = this.read(page, languages, signal, formats);
    this.reading.add(read);
    try {
      return await read;
    } finally {
      this.reading.delete(read);
    }
  }

  private async read(
    page: PreparedPage,
    languages: string,
    signal: AbortSignal,
    formats: readonly PageFormat[],
  ): Promise<OcrOutput> {
    const tessdata = await this.tessdata.holding(languages);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-page-'));
    try {
      const input = path.join(dir, 'page.pgm');
      const base = path.join(dir, 'page');
      await writeFile(input, page.pgm);
      // TSV alone (a variable rather than the tsv config file, which lives in the system's
      // tessdata): text, hOCR, TSV and the PDF are made from it as for every engine.
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
          'tessedit_create_txt=0',
          '-c',
          'tessedit_create_tsv=1',
        ],
        // One thread per child: a worker's slots already use its CPUs.
        { timeoutMs: CHILD_TIMEOUT_MS, maxBytes: 1 << 20, signal, env: { OMP_THREAD_LIMIT: '1' } },
      );
      return await layoutOutput(layoutFromTsv(await readFile(`${base}.tsv`, 'utf8')), page, formats, 'Tesseract');
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
    // A page handed back on shutdown is abandoned by its slot at once, while its read still
    // removes its folder: a worker that exits first leaves the folder behind.
    await Promise.allSettled(this.reading);
    await this.tessdata.remove();
  }
}

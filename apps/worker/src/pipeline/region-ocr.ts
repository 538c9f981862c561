import type { PageFormat } from '@pagefleet/shared';
import type { OcrEngine, OcrOutput } from './ocr.js';
import type { PreparedPage } from './preprocess.js';

/**
 * Hybrid pages' images read by warm tesseract.js threads beside Tesseract's command: the command
 * loads its model for every call, about 90 ms of a 1200×600 figure's 130–180 ms, where a thread
 * that keeps the model reads it in 60–90 ms (docs/text-layer.md). The threads are planned by
 * memory (the capacity plan's `regionThreads`, at most one per slot). An image goes to the command
 * when every thread is reading, so no slot waits for one, or when it has more pixels than a
 * thread's measured price covers, so their memory stays what was measured.
 */
export class RegionOcr implements OcrEngine {
  private reading = 0;

  constructor(
    private readonly threads: OcrEngine,
    private readonly count: number,
    private readonly command: OcrEngine,
    private readonly maxPixels: number,
    private readonly onRead?: (by: 'thread' | 'command') => void,
  ) {}

  recognize(
    page: PreparedPage,
    languages: string,
    signal: AbortSignal,
    formats?: readonly PageFormat[],
  ): Promise<OcrOutput> {
    if (this.reading >= this.count || page.width * page.height > this.maxPixels) {
      this.onRead?.('command');
      return this.command.recognize(page, languages, signal, formats);
    }
    this.onRead?.('thread');
    this.reading++;
    return this.threads.recognize(page, languages, signal, formats).finally(() => {
      this.reading--;
    });
  }

  /** The threads start with the worker, so their memory is there from the start, as planned. */
  async warmUp(languages: string): Promise<void> {
    const ready = Array.from({ length: this.count }, () => this.threads.warmUp(languages));
    await Promise.all([...ready, this.command.warmUp(languages)]);
  }

  async close(): Promise<void> {
    await Promise.all([this.threads.close(), this.command.close()]);
  }
}

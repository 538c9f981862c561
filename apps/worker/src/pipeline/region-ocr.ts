import type { PageFormat } from '@pagefleet/shared';
import type { OcrEngine, OcrOutput } from './ocr.js';
import type { PreparedPage } from './preprocess.js';

/** What a RegionOcr tells of its reads and its threads' starts. */
export interface RegionHooks {
  onRead?: (by: 'thread' | 'command') => void;
  /** A thread started: `started` of them now read images. */
  onStarted?: (started: number) => void;
  onStartFailed?: (err: unknown) => void;
}

/**
 * Hybrid pages' images read by warm tesseract.js threads beside Tesseract's command: the command
 * loads its model for every call, about 90 ms of a 1200×600 figure's 130–180 ms, where a thread
 * that keeps the model reads it in 60–90 ms (docs/text-layer.md). The threads are planned by
 * memory (the capacity plan's `regionThreads`, at most one per slot). An image goes to the command
 * when every thread started is reading, so no slot waits for one, or when it has more pixels than
 * a thread's measured price covers, so their memory stays what was measured.
 */
export class RegionOcr implements OcrEngine {
  private reading = 0;
  /** Threads started: until one has, or where none can, the command reads every image. */
  private started = 0;
  private closed = false;

  constructor(
    private readonly threads: OcrEngine,
    private readonly count: number,
    private readonly command: OcrEngine,
    private readonly maxPixels: number,
    private readonly hooks: RegionHooks = {},
  ) {}

  recognize(
    page: PreparedPage,
    languages: string,
    signal: AbortSignal,
    formats?: readonly PageFormat[],
  ): Promise<OcrOutput> {
    if (this.reading >= this.started || page.width * page.height > this.maxPixels) {
      this.hooks.onRead?.('command');
      return this.command.recognize(page, languages, signal, formats);
    }
    this.hooks.onRead?.('thread');
    this.reading++;
    return this.threads.recognize(page, languages, signal, formats).finally(() => {
      this.reading--;
    });
  }

  /**
   * Ready once the command is. The threads start with the worker, so their memory is there from
   * the start, as planned, but beside its first pages: compiling takes a CPU for seconds.
   */
  async warmUp(languages: string): Promise<void> {
    for (let i = 0; i < this.count; i++) {
      void this.threads.warmUp(languages).then(
        () => this.hooks.onStarted?.(++this.started),
        (err: unknown) => {
          if (!this.closed) this.hooks.onStartFailed?.(err);
        },
      );
    }
    await this.command.warmUp(languages);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.threads.close(), this.command.close()]);
  }
}

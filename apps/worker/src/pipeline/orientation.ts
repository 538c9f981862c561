import type { Worker as TesseractWorker } from 'tesseract.js';
import { untilAborted } from './deadline.js';
import { LanguageFolder } from './language-folder.js';
import { sharpOf, toGray } from './gray.js';
import type { PreparedPage } from './preprocess.js';

/** Quarter turns Tesseract's orientation detection can report. */
export type Orientation = 0 | 90 | 180 | 270;

export interface OrientationGuess {
  /** Clockwise turn that makes the page upright. */
  degrees: Orientation;
}

/**
 * Tesseract's orientation and script detection (OSD) on one shared thread: it needs the legacy
 * engine and `osd.traineddata` (npm @tesseract.js-data/osd), which the LSTM threads that read
 * pages do not load. tesseract.js runs a thread's jobs one at a time, so slots queue for it.
 * Few pages need it, and the thread costs memory, so it starts on first use and ends once idle.
 */
export class OrientationDetector {
  private thread: Promise<TesseractWorker> | undefined;
  private readonly tessdata = new LanguageFolder({});
  private running = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly idleMs = 10_000) {}

  /** Whether a thread is started (or starting): false once an idle one has been let go. */
  get hasThread(): boolean {
    return this.thread !== undefined;
  }

  async detect(page: PreparedPage, signal: AbortSignal): Promise<OrientationGuess> {
    clearTimeout(this.idleTimer);
    this.running++;
    try {
      const tesseract = await untilAborted((this.thread ??= this.start()), signal);
      const { data } = await untilAborted(tesseract.detect(page.pgm), signal);
      const degrees = data.orientation_degrees ?? 0;
      return { degrees: ([0, 90, 180, 270].includes(degrees) ? degrees : 0) as Orientation };
    } finally {
      if (--this.running === 0) this.idleTimer = setTimeout(() => void this.close(), this.idleMs).unref();
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const thread = this.thread;
    this.thread = undefined;
    if (!thread) return;
    await (await thread).terminate();
    await this.tessdata.remove();
  }

  private async start(): Promise<TesseractWorker> {
    // Loaded on first need, like the thread: most pages never need OSD.
    const { createWorker, OEM } = await import('tesseract.js');
    return createWorker('osd', OEM.TESSERACT_ONLY, {
      langPath: await this.tessdata.holding('osd'),
      gzip: false,
      cacheMethod: 'none',
      legacyCore: true,
      legacyLang: true,
      errorHandler: () => undefined,
    });
  }
}

/** The page turned `degrees` clockwise; width and height swap on quarter turns. */
export async function rotatePage(page: PreparedPage, degrees: Orientation): Promise<PreparedPage> {
  return { ...(await toGray((await sharpOf(page)).rotate(degrees))), dpi: page.dpi };
}

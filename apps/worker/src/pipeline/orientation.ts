import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { createWorker, OEM, type Worker as TesseractWorker } from 'tesseract.js';
import { untilAborted } from './deadline.js';
import { encodePgm } from './pgm.js';
import type { PreparedPage } from './preprocess.js';

const require = createRequire(import.meta.url);

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
  private thread: Promise<{ tesseract: TesseractWorker; dir: string }> | undefined;
  private running = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly idleMs = 10_000) {}

  async detect(page: PreparedPage, signal: AbortSignal): Promise<OrientationGuess> {
    clearTimeout(this.idleTimer);
    this.running++;
    try {
      const { tesseract } = await untilAborted((this.thread ??= this.start()), signal);
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
    const { tesseract, dir } = await thread;
    await tesseract.terminate();
    await rm(dir, { recursive: true, force: true });
  }

  private async start() {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-osd-'));
    const pkg = path.dirname(require.resolve('@tesseract.js-data/osd/package.json'));
    await symlink(path.join(pkg, '4.0.0', 'osd.traineddata.gz'), path.join(dir, 'osd.traineddata'));
    const tesseract = await createWorker('osd', OEM.TESSERACT_ONLY, {
      langPath: dir,
      gzip: false,
      cacheMethod: 'none',
      legacyCore: true,
      legacyLang: true,
      errorHandler: () => undefined,
    });
    return { tesseract, dir };
  }
}

/** The page turned `degrees` clockwise; width and height swap on quarter turns. */
export async function rotatePage(page: PreparedPage, degrees: Orientation): Promise<PreparedPage> {
  const { width, height } = page;
  const { data, info } = await sharp(page.pgm.subarray(page.pgm.length - width * height), { raw: { width, height, channels: 1 } })
    .rotate(degrees)
    // One band in, one band out: libvips would otherwise hand the raw image on as sRGB.
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { ...encodePgm(data, info.width, info.height), dpi: page.dpi };
}

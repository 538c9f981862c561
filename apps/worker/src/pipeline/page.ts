import type { DocumentPaths, PageJob, PageResult } from '@pagefleet/shared';
import { PageDeadline } from './deadline.js';
import type { OcrEngine, OcrOutput } from './ocr.js';
import { rotatePage, type OrientationDetector } from './orientation.js';
import { preprocess, type PageInput, type PreparedPage } from './preprocess.js';
import { previewJpeg } from './preview.js';
import type { Rasterizer } from './rasterize.js';

/**
 * Mean word confidence below which a page may be sideways or upside down: such pages read at 40–55
 * where upright print reads at 90–95 (docs/benchmarks.md). Receipts and poor scans read at 60–80:
 * some of them are checked too, which costs an OSD pass and changes nothing when they are upright.
 */
export const ROTATE_BELOW_CONFIDENCE = 65;

export interface PipelineDeps {
  rasterizer: Rasterizer;
  ocr: OcrEngine;
  /** AUTO_ROTATE: pages read with low confidence are checked for a wrong orientation. */
  orientation: OrientationDetector | undefined;
  maxPixels: number;
  /** PAGE_TIMEOUT_MS: the whole attempt, all stages together. */
  timeoutMs: number;
}

/** Runs one stage of a page: the deadline's in the pipeline, a plain call in benchmarks. */
export type StageRunner = <T>(name: string, work: (signal: AbortSignal) => Promise<T>) => Promise<T>;

/**
 * OCR of a prepared page. With AUTO_ROTATE, a page read with low confidence is checked by OSD
 * and, when OSD finds it turned, read again upright; the turn is kept only when it reads better,
 * since OSD misjudges some pages (receipts, sparse text).
 */
export async function readUpright(
  page: PreparedPage,
  job: Pick<PageJob, 'languages' | 'formats'>,
  deps: Pick<PipelineDeps, 'ocr' | 'orientation'>,
  stage: StageRunner,
): Promise<{ page: PreparedPage; ocr: OcrOutput }> {
  const first = {
    page,
    ocr: await stage('ocr', (signal) => deps.ocr.recognize(page, job.languages, signal, job.formats)),
  };
  const { orientation } = deps;
  if (!orientation || first.ocr.confidence >= ROTATE_BELOW_CONFIDENCE) return first;
  return stage('rotate', async (signal) => {
    const guess = await orientation.detect(page, signal);
    if (guess.degrees === 0) return first;
    const turned = await rotatePage(page, guess.degrees);
    const again = await deps.ocr.recognize(turned, job.languages, signal, job.formats);
    return again.confidence > first.ocr.confidence ? { page: turned, ocr: again } : first;
  });
}

/**
 * rasterize → preprocess → OCR for one page; nothing of the page outlives the call. Past the
 * deadline the running stage is stopped and the call rejects with a PageTimeoutError; `stop`
 * stops it the same way, earlier.
 */
export async function recognizePage(
  job: PageJob,
  paths: DocumentPaths,
  deps: PipelineDeps,
  stop?: AbortSignal,
): Promise<PageResult & Pick<OcrOutput, 'formats'>> {
  const deadline = new PageDeadline(deps.timeoutMs, stop);
  try {
    const file = paths.inputFile(job.source.file);
    const input: PageInput =
      job.source.kind === 'pdf'
        ? {
            rendered: await deadline.stage('rasterize', (signal) =>
              deps.rasterizer.render(file, job.source.index, { dpi: job.dpi, maxPixels: deps.maxPixels }, signal),
            ),
          }
        : { image: file, index: job.source.index };
    // libvips cannot be interrupted: past the deadline the stage rejects and its result is dropped.
    const prepared = await deadline.stage('preprocess', () => preprocess(input, deps.maxPixels));
    const { page: read, ocr } = await readUpright(prepared, job, deps, (name, work) => deadline.stage(name, work));
    if (job.formats.includes('image')) ocr.formats.image = await deadline.stage('preview', () => previewJpeg(read));
    return {
      page: job.page,
      status: 'completed',
      ...ocr,
      width: read.width,
      height: read.height,
      ...(read.dpi === undefined ? {} : { dpi: read.dpi }),
      durations: deadline.durations,
    };
  } finally {
    deadline.dispose();
  }
}

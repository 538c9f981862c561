import type { DocumentPaths, PageJob, PageResult } from '@pagefleet/shared';
import { PageDeadline } from './deadline.js';
import type { OcrOutput, OcrPool } from './ocr.js';
import { preprocess, type PageInput } from './preprocess.js';
import type { Rasterizer } from './rasterize.js';

export interface PipelineDeps {
  rasterizer: Rasterizer;
  ocr: OcrPool;
  maxPixels: number;
  /** PAGE_TIMEOUT_MS: the whole attempt, all stages together. */
  timeoutMs: number;
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
        ? { rendered: await deadline.stage('rasterize', (signal) => deps.rasterizer.render(file, job.source.index, job.dpi, signal)) }
        : { image: file, index: job.source.index };
    // libvips cannot be interrupted: past the deadline the stage rejects and its result is dropped.
    const prepared = await deadline.stage('preprocess', () => preprocess(input, deps.maxPixels));
    const ocr = await deadline.stage('ocr', (signal) => deps.ocr.recognize(prepared, job.languages, signal, job.formats));
    return {
      page: job.page,
      status: 'completed',
      ...ocr,
      width: prepared.width,
      height: prepared.height,
      ...(prepared.dpi === undefined ? {} : { dpi: prepared.dpi }),
      durations: deadline.durations,
    };
  } finally {
    deadline.dispose();
  }
}

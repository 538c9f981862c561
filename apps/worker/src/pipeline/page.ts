import type { DocumentPaths, PageJob, PageResult } from '@pagefleet/shared';
import type { OcrPool } from './ocr.js';
import { preprocess, type PageInput } from './preprocess.js';
import type { Rasterizer } from './rasterize.js';

export interface PipelineDeps {
  rasterizer: Rasterizer;
  ocr: OcrPool;
  maxPixels: number;
}

async function timed<T>(durations: Record<string, number>, stage: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    durations[stage] = Math.round(performance.now() - start);
  }
}

/** rasterize → preprocess → OCR for one page; nothing of the page outlives the call. */
export async function recognizePage(job: PageJob, paths: DocumentPaths, deps: PipelineDeps): Promise<PageResult> {
  const durations: Record<string, number> = {};
  const file = paths.inputFile(job.source.file);
  const input: PageInput =
    job.source.kind === 'pdf'
      ? { rendered: await timed(durations, 'rasterize', () => deps.rasterizer.render(file, job.source.index, job.dpi)) }
      : { image: file, index: job.source.index };
  const prepared = await timed(durations, 'preprocess', () => preprocess(input, deps.maxPixels));
  const ocr = await timed(durations, 'ocr', () => deps.ocr.recognize(prepared, job.languages));
  return {
    page: job.page,
    status: 'completed',
    ...ocr,
    width: prepared.width,
    height: prepared.height,
    ...(prepared.dpi === undefined ? {} : { dpi: prepared.dpi }),
    durations,
  };
}

import type { BoundingBox, Engine, PageJob, PageResult } from '@pagefleet/shared';
import { PageDeadline } from './deadline.js';
import {
  keepRegions,
  layImage,
  mergeReadings,
  readingsByRegion,
  unionOf,
  whiteImage,
  type RegionReading,
} from './hybrid.js';
import { decodeImage } from './embedded-image.js';
import type { LayerWindows } from './layer-windows.js';
import type { ParsedPdfs } from './parsed-pdfs.js';
import { meanConfidence, type OcrEngine, type OcrOutput } from './ocr.js';
import { overlayPdf } from './page-pdf.js';
import { rotatePage, type OrientationDetector } from './orientation.js';
import { preprocess, type PageInput, type PreparedPage } from './preprocess.js';
import {
  copyPage,
  extractPage,
  LAYER_CONFIDENCE,
  layerFormats,
  type ExtractedPage,
  type ImageRegion,
} from './extract.js';
import { PREVIEW_WIDTH, previewJpeg } from './preview.js';
import type { LayerVerdict } from './text-quality.js';
import { renderRegion, type PixelRegion, type Rasterizer, type RenderedPage } from './rasterize.js';

/**
 * Mean word confidence below which a page may be sideways or upside down: such pages read at 40–55
 * where upright print reads at 90–95 (docs/benchmarks.md). Receipts and poor scans read at 60–80:
 * some of them are checked too, which costs an OSD pass and changes nothing when they are upright.
 */
export const ROTATE_BELOW_CONFIDENCE = 65;

/**
 * With `engine=auto`, a page Tesseract reads with a mean word confidence below this is read again
 * by PaddleOCR, whose reading is kept: Tesseract's own confidence says the page is one it reads
 * badly (receipts, photos, poor prints). Chosen by bench:accuracy (docs/engines.md).
 */
export const AUTO_PADDLE_BELOW = 80;

/** The engines a worker's queue reads with: PaddleOCR only where the worker planned room for it. */
export interface PageEngines {
  tesseract: OcrEngine;
  paddle?: OcrEngine | undefined;
  /** Reads hybrid pages' images in Tesseract's stead, where the worker planned it (RegionOcr). */
  regions?: OcrEngine | undefined;
}

export interface PipelineDeps {
  rasterizer: Rasterizer;
  engines: PageEngines;
  /** AUTO_ROTATE: pages read with low confidence are checked for a wrong orientation. */
  orientation: OrientationDetector | undefined;
  maxPixels: number;
  /** PAGE_TIMEOUT_MS: the whole attempt, all stages together. */
  timeoutMs: number;
  /** Text layers read a window of pages at a time (TEXT_LAYER_WINDOW). */
  layers: LayerWindows;
  /** Documents parsed to place their hybrid pages' images, kept for their next such pages. */
  pdfs: ParsedPdfs;
  /** Told how each PDF page's text layer was judged (a metric). */
  onVerdict?: (verdict: LayerVerdict) => void;
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
  deps: { ocr: OcrEngine; orientation: OrientationDetector | undefined },
  stage: StageRunner,
): Promise<{ page: PreparedPage; ocr: OcrOutput }> {
  const { turned, ...read } = await stage('ocr', (signal) =>
    deps.ocr.recognize(page, job.languages, signal, job.formats),
  );
  // An engine that found the page upside down gave its words on the page turned upright.
  const first = { page: turned ? await rotatePage(page, turned) : page, ocr: read };
  const { orientation } = deps;
  if (!orientation || first.ocr.confidence >= ROTATE_BELOW_CONFIDENCE) return first;
  return stage('rotate', async (signal) => {
    const guess = await orientation.detect(first.page, signal);
    if (guess.degrees === 0) return first;
    const upright = await rotatePage(first.page, guess.degrees);
    const { turned: again, ...reread } = await deps.ocr.recognize(upright, job.languages, signal, job.formats);
    if (reread.confidence <= first.ocr.confidence) return first;
    return { page: again ? await rotatePage(upright, again) : upright, ocr: reread };
  });
}

/**
 * The page read by the engine its job names: with `auto`, Tesseract first, then PaddleOCR when
 * Tesseract's confidence is below AUTO_PADDLE_BELOW (see there).
 */
export async function readWithEngine(
  page: PreparedPage,
  job: Pick<PageJob, 'languages' | 'formats' | 'engine'>,
  deps: Pick<PipelineDeps, 'engines' | 'orientation'>,
  stage: StageRunner,
): Promise<{ page: PreparedPage; ocr: OcrOutput; engine: Engine }> {
  const { tesseract, paddle } = deps.engines;
  const { orientation } = deps;
  if (job.engine !== 'tesseract' && !paddle) {
    throw new Error(`engine=${job.engine} on a worker that planned no room for PaddleOCR`);
  }
  if (job.engine === 'paddle' && paddle) {
    return { ...(await readUpright(page, job, { ocr: paddle, orientation }, stage)), engine: 'paddle' };
  }
  const first = await readUpright(page, job, { ocr: tesseract, orientation }, stage);
  if (job.engine === 'tesseract' || !paddle || first.ocr.confidence >= AUTO_PADDLE_BELOW) {
    return { ...first, engine: 'tesseract' };
  }
  // Read upright already: PaddleOCR reads the page Tesseract turned, if it turned it.
  const again = await readUpright(first.page, job, { ocr: paddle, orientation: undefined }, stage);
  return { ...again, engine: 'paddle' };
}

/**
 * rasterize → preprocess → OCR for one page of `file` (the page's input on local disk); nothing
 * of the page outlives the call. Past the
 * deadline the running stage is stopped and the call rejects with a PageTimeoutError; `stop`
 * stops it the same way, earlier.
 */
export async function recognizePage(
  job: PageJob,
  file: string,
  deps: PipelineDeps,
  stop?: AbortSignal,
): Promise<PageResult & Pick<OcrOutput, 'formats'>> {
  const deadline = new PageDeadline(deps.timeoutMs, stop);
  try {
    if (job.source.kind === 'pdf' && !job.forceOcr) {
      const read = await readTextPage(file, job, deps, deadline);
      if (read) return read;
    }
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
    const {
      page: read,
      ocr: { blocks: _blocks, ...ocr },
      engine,
    } = await readWithEngine(prepared, job, deps, (name, work) => deadline.stage(name, work));
    if (job.formats.includes('image')) ocr.formats.image = await deadline.stage('preview', () => previewJpeg(read));
    return {
      page: job.page,
      status: 'completed',
      method: 'ocr',
      engine,
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

/** A box OCR found in the render of `at`, placed on the page: turned back first where the engine turned the render 180°. */
const placeBox = (box: BoundingBox, at: PixelRegion, turned: boolean): BoundingBox =>
  turned
    ? {
        x0: at.x + at.width - box.x1,
        y0: at.y + at.height - box.y1,
        x1: at.x + at.width - box.x0,
        y1: at.y + at.height - box.y0,
      }
    : { x0: at.x + box.x0, y0: at.y + box.y0, x1: at.x + box.x1, y1: at.y + box.y1 };

/**
 * Past this many images a page's image regions are rendered, not decoded: each image decoded
 * costs about 3 ms (two sharp calls where it has a soft mask), a render of their union 60–150 ms
 * whatever it holds (pdfjs_tracemonkey.pdf: 10 images decode in 40 ms against a 90 ms render, 78
 * in 250 ms against 150 ms).
 */
const MAX_DECODED_IMAGES = 16;

/**
 * The image regions of a hybrid page as one image, the rectangle holding them all at the page's
 * DPI, white but for the regions: decoded from the file and laid over each other as drawn, where
 * the worker decodes every image of every region, none has more pixels than the page (what a
 * slot is priced for) and they are few enough to be cheaper than a render, with no renderer
 * started; else rendered by pdftoppm, as it is too where decoding fails (a damaged stream).
 */
async function regionsImage(
  file: string,
  job: PageJob,
  page: ExtractedPage,
  regions: readonly ImageRegion[],
  union: PixelRegion,
  deadline: PageDeadline,
): Promise<RenderedPage> {
  const images = regions.flatMap((region) => region.images ?? []);
  const decodable =
    regions.every((region) => region.images) &&
    images.length <= MAX_DECODED_IMAGES &&
    images.every(({ source }) => source.image.width * source.image.height <= page.width * page.height);
  const decoded =
    decodable &&
    (await deadline.stage('decode', async () => {
      try {
        const canvas = whiteImage(union);
        // One at a time, each laid as it is decoded: the page holds one decoded image beside the canvas.
        for (const { at, source } of images) {
          const { image, ...drawn } = source;
          layImage(canvas, union, at, await decodeImage(image, at, drawn));
        }
        return { ...canvas, dpi: page.dpi };
      } catch {
        return undefined;
      }
    }));
  if (decoded) return decoded;
  const rendered = await deadline.stage('rasterize', (signal) =>
    renderRegion(file, job.source.index, page.dpi, union, signal),
  );
  return regions.length > 1 ? { ...keepRegions(rendered, union, regions), dpi: rendered.dpi } : rendered;
}

/**
 * OCR of a hybrid page's image regions in one pass (regionsImage), read by the engine the job
 * names; words placed back on the page. Orientation is the page's, not checked per region.
 */
async function readRegions(
  file: string,
  job: PageJob,
  page: ExtractedPage,
  regions: readonly ImageRegion[],
  deps: PipelineDeps,
  deadline: PageDeadline,
): Promise<{ readings: RegionReading[]; engine: Engine | undefined }> {
  if (regions.length === 0) return { readings: [], engine: undefined };
  const union = unionOf(regions);
  const kept = await regionsImage(file, job, page, regions, union, deadline);
  const prepared = await deadline.stage('preprocess', () => preprocess({ rendered: kept }, deps.maxPixels));
  const { tesseract, paddle, regions: reader = tesseract } = deps.engines;
  const read = await readWithEngine(
    prepared,
    { ...job, formats: [] },
    { engines: { tesseract: reader, paddle }, orientation: undefined },
    (name, work) => deadline.stage(name, work),
  );
  const turned = read.page !== prepared;
  const blocks = read.ocr.blocks.map((block) =>
    block.map((line) => line.map((word) => ({ ...word, bbox: placeBox(word.bbox, union, turned) }))),
  );
  return { readings: readingsByRegion(blocks, regions), engine: read.engine };
}

/**
 * A PDF page read from its own text layer when that layer is the page's text (see
 * text-quality.ts): no rendering and no OCR, unless a page image is asked for, or the page is a
 * hybrid, whose images are OCRed (readRegions) and their words merged with the layer's
 * (hybrid.ts). Undefined when the page must be OCRed whole; the verdict goes to
 * `deps.onVerdict` either way.
 */
async function readTextPage(
  file: string,
  job: PageJob,
  deps: PipelineDeps,
  deadline: PageDeadline,
): Promise<(PageResult & Pick<OcrOutput, 'formats'>) | undefined> {
  const { index, rotation = 0 } = job.source;
  const size = { dpi: job.dpi, maxPixels: deps.maxPixels };
  const extraction = await deadline.stage('extract', async (signal) => {
    // A one-page PDF of the split is read alone: its path is a scratch copy, and it has no other pages.
    const key = job.source.split ? undefined : `${job.documentId}/${job.source.file}`;
    const read = await deps.layers.read(key, file, index, signal);
    return extractPage(read, rotation, size, () => deps.pdfs.placements(key, file, index));
  });
  deps.onVerdict?.(extraction.verdict);
  if (!('page' in extraction)) return undefined;
  const { page } = extraction;
  const { readings, engine } = await readRegions(file, job, page, extraction.regions, deps, deadline);
  const hybrid = mergeReadings(page, readings);
  const laidOut = hybrid.ocrWords.length > 0 ? { ...page, blocks: hybrid.blocks } : page;
  const formats = await deadline.stage('extract', (signal) =>
    layerFormats(laidOut, job.formats, async () => {
      const copy = await copyPage(file, index, signal);
      return hybrid.ocrWords.length > 0 ? overlayPdf(copy, hybrid.ocrWords, page.dpi) : copy;
    }),
  );
  if (job.formats.includes('image')) {
    // Rendered only for the picture asked for, at the preview's own size: the words are the layer's.
    const previewDpi = Math.max(1, Math.floor((page.dpi * Math.min(PREVIEW_WIDTH, page.width)) / page.width));
    formats.image = await deadline.stage('preview', async (signal) => {
      const rendered = await deps.rasterizer.render(
        file,
        index,
        { dpi: previewDpi, maxPixels: deps.maxPixels },
        signal,
      );
      return previewJpeg(rendered);
    });
  }
  const common = { page: job.page, status: 'completed' as const, formats, width: page.width, height: page.height };
  const timing = { dpi: page.dpi, durations: deadline.durations };
  if (hybrid.ocrWords.length === 0) {
    return { ...common, method: 'text', text: page.text, confidence: LAYER_CONFIDENCE, words: page.words, ...timing };
  }
  return {
    ...common,
    method: 'text+ocr',
    ...(engine ? { engine } : {}),
    text: hybrid.text,
    confidence: meanConfidence(hybrid.words),
    words: hybrid.words,
    ...timing,
  };
}

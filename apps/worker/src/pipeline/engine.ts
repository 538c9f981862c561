import { findPaddleModels, onPath, QUEUES, type Config, type Logger, type PageQueueName } from '@pagefleet/shared';
import { NativeOcr } from './native-ocr.js';
import { OcrPool, type OcrEngine, type OcrPoolOptions } from './ocr.js';
import { PaddleOcr } from './paddle/engine.js';
import type { PageEngines } from './page.js';
import { RegionOcr, type RegionHooks } from './region-ocr.js';

type EngineConfig = Pick<
  Config,
  | 'OCR_ENGINE'
  | 'TESSDATA_DIR'
  | 'OCR_MODEL'
  | 'DESKEW'
  | 'OCR_MAX_PAGES'
  | 'OCR_MAX_HEAP'
  | 'PADDLE_THREADS'
  | 'PADDLE_DETECTION_SIDE'
  | 'PADDLE_PROVIDERS'
  | 'PADDLE_BATCH'
>;

/** PaddleOCR as PADDLE_* configure it, or undefined where its models are not installed. */
export function createPaddleEngine(config: EngineConfig): PaddleOcr | undefined {
  const models = findPaddleModels();
  return (
    models &&
    new PaddleOcr(models, {
      threads: config.PADDLE_THREADS,
      detectionSide: config.PADDLE_DETECTION_SIDE,
      batch: config.PADDLE_BATCH,
      providers: config.PADDLE_PROVIDERS,
    })
  );
}

/**
 * The engines one page queue reads with: Tesseract (OCR_ENGINE) for every queue, and PaddleOCR
 * for pages-paddle, whose pages ask for it (paddle) or may (auto).
 */
export function createPageEngines(
  config: EngineConfig,
  queue: PageQueueName,
  slots: number,
  log: Logger,
  onRecycle?: OcrPoolOptions['onRecycle'],
): PageEngines {
  const tesseract = createOcrEngine(config, slots, log, onRecycle);
  return { tesseract, paddle: queue === QUEUES.pagesPaddle ? createPaddleEngine(config) : undefined };
}

/**
 * The reader of hybrid pages' images where pages are read by Tesseract's command and the capacity
 * plan has room for threads (RegionOcr): undefined otherwise, and they are read as pages are.
 */
export function createRegionEngine(
  config: EngineConfig,
  planned: { count: number; maxPixels: number },
  log: Logger,
  hooks: Pick<RegionHooks, 'onRead' | 'onStarted'> & { onRecycle?: OcrPoolOptions['onRecycle'] } = {},
): RegionOcr | undefined {
  if (config.OCR_ENGINE !== 'native' || !onPath('tesseract')) return undefined;
  const threads = new OcrPool({
    slots: planned.count,
    tessdataDir: config.TESSDATA_DIR,
    model: config.OCR_MODEL,
    // Read as the command reads them: it has no deskew step.
    deskew: false,
    compileAhead: true,
    unref: true,
    maxPages: config.OCR_MAX_PAGES,
    maxHeapBytes: config.OCR_MAX_HEAP,
    log,
    ...(hooks.onRecycle ? { onRecycle: hooks.onRecycle } : {}),
  });
  const command = new NativeOcr({ tessdataDir: config.TESSDATA_DIR, model: config.OCR_MODEL });
  return new RegionOcr(threads, planned.count, command, planned.maxPixels, {
    ...(hooks.onRead ? { onRead: hooks.onRead } : {}),
    ...(hooks.onStarted ? { onStarted: hooks.onStarted } : {}),
    onStartFailed: (err) =>
      log.error({ err }, "a thread for hybrid pages' images did not start: the command reads them"),
  });
}

/**
 * The OCR engine OCR_ENGINE names. `native` needs Tesseract's command (Debian's tesseract-ocr);
 * where it is missing the worker reads with tesseract.js, and says so.
 */
export function createOcrEngine(
  config: EngineConfig,
  slots: number,
  log: Logger,
  onRecycle?: OcrPoolOptions['onRecycle'],
): OcrEngine {
  if (config.OCR_ENGINE === 'native') {
    if (onPath('tesseract')) return new NativeOcr({ tessdataDir: config.TESSDATA_DIR, model: config.OCR_MODEL });
    log.warn(
      'OCR_ENGINE=native but no tesseract command is installed (apt-get install tesseract-ocr): reading with tesseract.js',
    );
  }
  return new OcrPool({
    slots,
    tessdataDir: config.TESSDATA_DIR,
    model: config.OCR_MODEL,
    deskew: config.DESKEW,
    maxPages: config.OCR_MAX_PAGES,
    maxHeapBytes: config.OCR_MAX_HEAP,
    log,
    ...(onRecycle ? { onRecycle } : {}),
  });
}

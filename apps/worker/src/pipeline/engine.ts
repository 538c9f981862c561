import { onPath, type Config, type Logger } from '@pagefleet/shared';
import { NativeOcr } from './native-ocr.js';
import { OcrPool, type OcrEngine, type OcrPoolOptions } from './ocr.js';

/**
 * The OCR engine OCR_ENGINE names. `native` needs Tesseract's command (Debian's tesseract-ocr);
 * where it is missing the worker reads with tesseract.js, and says so.
 */
export function createOcrEngine(
  config: Pick<Config, 'OCR_ENGINE' | 'TESSDATA_DIR' | 'OCR_MODEL' | 'DESKEW' | 'OCR_MAX_PAGES' | 'OCR_MAX_HEAP'>,
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

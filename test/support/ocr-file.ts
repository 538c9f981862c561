// Recognizes one image with the worker's own pipeline and prints the text: run by tests in a
// network namespace with no interfaces, to prove that OCR needs nothing from the network.
import { createLogger, loadConfig } from '@pagefleet/shared';
import { OcrPool } from '../../apps/worker/src/pipeline/ocr.js';
import { preprocess } from '../../apps/worker/src/pipeline/preprocess.js';

const [image, languages = 'eng'] = process.argv.slice(2);
if (!image) throw new Error('usage: ocr-file.ts IMAGE [LANGUAGES]');
const config = loadConfig({ LOG_LEVEL: 'silent', ...process.env });
const ocr = new OcrPool({
  slots: 1,
  tessdataDir: config.TESSDATA_DIR,
  model: config.OCR_MODEL,
  deskew: config.DESKEW,
  maxPages: 1,
  maxHeapBytes: 2 ** 30,
  log: createLogger(config, 'test'),
});
try {
  const page = await preprocess({ image, index: 0 }, 40_000_000);
  process.stdout.write((await ocr.recognize(page, languages, new AbortController().signal)).text);
} finally {
  await ocr.close();
}

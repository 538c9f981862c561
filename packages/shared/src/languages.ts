import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { InvalidRequestError, UnprocessableError } from './errors.js';

const require = createRequire(import.meta.url);
const LANGUAGE = /^[A-Za-z0-9_]{1,32}$/;

/** `eng+deu` → `['eng', 'deu']`; rejects anything that could not be a traineddata name. */
export function parseLanguages(spec: string): string[] {
  const languages = spec.split('+');
  const bad = languages.find((language) => !LANGUAGE.test(language));
  if (bad !== undefined) throw new InvalidRequestError(`languages: ${JSON.stringify(bad)} is not a language code`);
  return [...new Set(languages)];
}

/**
 * The installed traineddata file of a language: TESSDATA_DIR first (e.g. Debian's
 * tesseract-ocr-* files, plain or gzipped), then an npm package `@tesseract.js-data/<lang>`.
 * Nothing is ever downloaded.
 */
export function findLanguageFile(language: string, tessdataDir?: string): string | undefined {
  if (tessdataDir) {
    for (const name of [`${language}.traineddata`, `${language}.traineddata.gz`]) {
      const file = path.join(tessdataDir, name);
      if (existsSync(file)) return file;
    }
  }
  try {
    const pkg = path.dirname(require.resolve(`@tesseract.js-data/${language}/package.json`));
    // best_int: the LSTM-only integer model tesseract.js itself picks for LSTM-only recognition.
    const file = path.join(pkg, '4.0.0_best_int', `${language}.traineddata.gz`);
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

/** Map of language → traineddata file; throws naming the first language that is not installed. */
export function languageFiles(spec: string, tessdataDir?: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const language of parseLanguages(spec)) {
    const file = findLanguageFile(language, tessdataDir);
    if (!file) {
      throw new UnprocessableError(
        'unknown_language',
        `language ${language} is not installed (add @tesseract.js-data/${language} or its traineddata in TESSDATA_DIR)`,
      );
    }
    files.set(language, file);
  }
  return files;
}

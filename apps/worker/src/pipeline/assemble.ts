import { rm } from 'node:fs/promises';
import { runTool } from '@pagefleet/shared';

/**
 * The document's searchable PDF at `out`: the completed pages' one-page PDFs (an OCRed page's
 * image with Tesseract's invisible text layer, or a text page copied from the input), joined in
 * order by poppler's pdfunite, in a child process and on disk: the worker never holds the
 * document. False when there is no page to join.
 */
export async function assemblePdf(pages: readonly string[], out: string, timeoutMs: number): Promise<boolean> {
  if (pages.length === 0) return false;
  try {
    await runTool('pdfunite', [...pages, out], { timeoutMs, maxBytes: 64 * 1024 });
    return true;
  } catch (err) {
    await rm(out, { force: true });
    throw err;
  }
}

import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { runTool, type DocumentPaths } from '@pagefleet/shared';

/**
 * The document's searchable PDF: each completed page's one-page PDF (an OCRed page's image with
 * Tesseract's invisible text layer, or a text page copied from the input), joined in order by poppler's pdfunite, in a child process and on disk:
 * the worker never holds the document. Failed pages have no PDF and are left out.
 */
export async function assemblePdf(paths: DocumentPaths, pages: readonly number[], timeoutMs: number): Promise<void> {
  const files = pages.map((page) => paths.pageOutput(page, 'pdf')).filter((file) => existsSync(file));
  if (files.length === 0) return;
  const temp = `${paths.pdf}.tmp`;
  try {
    await runTool('pdfunite', [...files, temp], { timeoutMs, maxBytes: 64 * 1024 });
    await rename(temp, paths.pdf);
  } finally {
    await rm(temp, { force: true });
  }
}

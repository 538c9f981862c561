import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { runTool, type DocumentPaths } from '@pagefleet/shared';

/**
 * The document's searchable PDF: each completed page's one-page PDF (its image with Tesseract's
 * invisible text layer), joined in order by poppler's pdfunite, in a child process and on disk:
 * the worker never holds the document. Failed pages have no PDF and are left out.
 */
export async function assemblePdf(paths: DocumentPaths, pageCount: number, timeoutMs: number): Promise<void> {
  const pages: string[] = [];
  for (let page = 1; page <= pageCount; page++) {
    const file = paths.pageOutput(page, 'pdf');
    if (existsSync(file)) pages.push(file);
  }
  if (pages.length === 0) return;
  const temp = `${paths.pdf}.tmp`;
  try {
    await runTool('pdfunite', [...pages, temp], { timeoutMs, maxBytes: 64 * 1024 });
    await rename(temp, paths.pdf);
  } finally {
    await rm(temp, { force: true });
  }
}

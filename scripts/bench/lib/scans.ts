import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pdfOf, scannedPage } from '../../../test/support/fixtures.js';

export interface BenchPages {
  /** PDFs, as submitted to the API. */
  documents: string[];
  /** Every page of them, as rendered page by page. */
  pages: Array<{ file: string; page: number }>;
}

/** `count` generated letter scans (the same seeds every run), `perDocument` to a PDF under `dir`. */
export async function generateScans(dir: string, count: number, perDocument: number): Promise<BenchPages> {
  const documents: string[] = [];
  for (let first = 0; first < count; first += perDocument) {
    const images = [];
    for (let seed = first; seed < Math.min(count, first + perDocument); seed++) images.push(await scannedPage(seed + 1));
    const file = path.join(dir, `doc-${documents.length}.pdf`);
    await writeFile(file, await pdfOf(images));
    documents.push(file);
  }
  const pages = documents.flatMap((file, doc) =>
    Array.from({ length: Math.min(perDocument, count - doc * perDocument) }, (_, i) => ({ file, page: i + 1 })),
  );
  return { documents, pages };
}

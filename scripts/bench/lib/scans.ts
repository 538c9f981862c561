import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pdfInfo } from '@pagefleet/shared';
import { pdfOf, scannedPage } from '../../lib/fixtures.js';

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
    for (let seed = first; seed < Math.min(count, first + perDocument); seed++)
      images.push(await scannedPage(seed + 1));
    const file = path.join(dir, `doc-${documents.length}.pdf`);
    await writeFile(file, await pdfOf(images));
    documents.push(file);
  }
  const pages = documents.flatMap((file, doc) =>
    Array.from({ length: Math.min(perDocument, count - doc * perDocument) }, (_, i) => ({ file, page: i + 1 })),
  );
  return { documents, pages };
}

/**
 * Real documents from CORPUS_DIR: scanned pages (a brochure, a book page, a skewed page, a CCITT
 * fax, French text) and born-digital papers (14 and 4 pages); 23 pages in all.
 */
const CORPUS_DOCUMENTS = [
  'ocrmypdf_linn.pdf',
  'ocrmypdf_c02-22.pdf',
  'ocrmypdf_skew.pdf',
  'ocrmypdf_ccitt.pdf',
  'ocrmypdf_francais.pdf',
  'pdfjs_tracemonkey.pdf',
  'pypdf_pdflatex-4-pages.pdf',
];

export async function corpusDocuments(corpus: string): Promise<BenchPages> {
  const documents = CORPUS_DOCUMENTS.map((name) => path.join(corpus, 'pdfs', name));
  const pages = [];
  for (const file of documents) {
    const { pages: count } = await pdfInfo(file, 15_000);
    for (let page = 1; page <= count; page++) pages.push({ file, page });
  }
  return { documents, pages };
}

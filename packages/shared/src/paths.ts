import path from 'node:path';
import type { PageFormat } from './jobs.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isJobId = (id: string) => UUID.test(id);

/** The files of one document under DATA_DIR. The id is checked here so no path is ever built from a raw one. */
export function documentPaths(dataDir: string, id: string) {
  if (!isJobId(id)) throw new Error(`not a job id: ${JSON.stringify(id)}`);
  const root = path.join(dataDir, 'jobs', id);
  return {
    root,
    input: path.join(root, 'input'),
    pages: path.join(root, 'pages'),
    text: path.join(root, 'text.txt'),
    /** The document's final state, so that it can be read while Redis is away. */
    state: path.join(root, 'document.json'),
    inputFile: (file: string) => path.join(root, 'input', path.basename(file)),
    page: (page: number) => path.join(root, 'pages', `${String(page).padStart(6, '0')}.json`),
    /** A page's optional output (hOCR, TSV, its one-page searchable PDF). */
    pageOutput: (page: number, format: PageFormat) =>
      path.join(root, 'pages', `${String(page).padStart(6, '0')}.${format}`),
    /** The whole document as a searchable PDF, assembled from its pages' PDFs. */
    pdf: path.join(root, 'document.pdf'),
  };
}
export type DocumentPaths = ReturnType<typeof documentPaths>;

/** multer writes incoming files here; the API moves accepted ones into the document's folder. */
export const uploadsDir = (dataDir: string) => path.join(dataDir, 'uploads');

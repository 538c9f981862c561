import type { PageFormat } from '@pagefleet/contract';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isJobId = (id: string) => UUID.test(id);

/** Where documents are kept in the blob store: one folder (prefix) each. */
export const DOCUMENTS_PREFIX = 'jobs/';

const pageName = (page: number, attempt: number) => `${String(page).padStart(6, '0')}.${attempt}`;

/**
 * The keys of one document in the blob store. A page's files carry the attempt that wrote them,
 * so that an attempt which lost its page never overwrites the files of the one recorded. The id
 * is checked here so that no key is ever built from a raw one.
 */
export function documentKeys(id: string) {
  if (!isJobId(id)) throw new Error(`not a job id: ${JSON.stringify(id)}`);
  const root = `${DOCUMENTS_PREFIX}${id}/`;
  return {
    root,
    /** An uploaded file, named by the API (`0.pdf`), never by the client. */
    input: (file: string) => `${root}input/${file}`,
    /** Page `index` of an uploaded PDF, as a one-page PDF of its own (a split job's output). */
    inputPage: (file: string, index: number) => `${root}input/${file}.pages/${String(index).padStart(6, '0')}.pdf`,
    /** Every page's files. */
    pages: `${root}pages/`,
    /** Every file of one attempt at a page. */
    pageFiles: (page: number, attempt: number) => `${root}pages/${pageName(page, attempt)}.`,
    pageResult: (page: number, attempt: number) => `${root}pages/${pageName(page, attempt)}.json`,
    /** A page's optional output (hOCR, TSV, image, its one-page searchable PDF). */
    pageOutput: (page: number, attempt: number, format: PageFormat) =>
      `${root}pages/${pageName(page, attempt)}.${format}`,
    /** A copy of why a page failed for good, for the document's recovery should Redis lose it. */
    pageFailure: (page: number) => `${root}pages/${String(page).padStart(6, '0')}.failed.json`,
    /** The pages' text joined by form feeds. */
    text: `${root}text.txt`,
    /** The whole document as a searchable PDF, assembled from its pages' PDFs. */
    pdf: `${root}document.pdf`,
    /** The document's saved state and page records: read while Redis is away or after it lost them. */
    state: `${root}document.json`,
  };
}

/** What a key under a document's `pages/` is: an attempt's result, or a page's failure. */
export function parsePageKey(
  name: string,
): { page: number; kind: 'result'; attempt: number } | { page: number; kind: 'failure' } | undefined {
  const result = /^(\d{6})\.(\d+)\.json$/.exec(name);
  if (result) return { page: Number(result[1]), kind: 'result', attempt: Number(result[2]) };
  const failure = /^(\d{6})\.failed\.json$/.exec(name);
  return failure ? { page: Number(failure[1]), kind: 'failure' } : undefined;
}

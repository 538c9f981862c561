import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, type Job } from 'bullmq';
import { formatPages, runTool, type Dispatcher, type SplitJob } from '@pagefleet/shared';
import type { ProcessorDeps } from './deps.js';

export interface SplitDeps extends ProcessorDeps {
  /** Queues the split PDF's pages, as children of their document's job. */
  dispatch: Dispatcher;
  /** Time qpdf may take to split one PDF. */
  timeoutMs: number;
}

/** One-page PDFs stored at once, then queued together. */
const STORE_BATCH = 4;

export interface SplitSummary {
  pages: number;
  /** False when qpdf could not split the file: its pages read the whole file. */
  split: boolean;
}

/** The one-page PDFs qpdf wrote (`page-1.pdf`, `page-2.pdf`… padded to the count), in page order. */
async function splitPages(dir: string): Promise<string[]> {
  const number = (name: string) => Number(/-(\d+)\.pdf$/.exec(name)?.[1]);
  const names = (await readdir(dir)).filter((name) => name.endsWith('.pdf'));
  return names.sort((a, b) => number(a) - number(b)).map((name) => path.join(dir, name));
}

/**
 * Splits one PDF of a document into one-page PDFs of its selected pages (qpdf keeps only the
 * objects each page uses), stores them, then queues the pages as children of the document's job.
 * Run by a worker, once per PDF: the API stays light, and a page's worker fetches its own page.
 * A file qpdf cannot split (poppler read it at ingest, qpdf is stricter) is not an error: its
 * pages are queued to read the whole file.
 */
export async function processSplit(job: Job<SplitJob>, deps: SplitDeps): Promise<SplitSummary> {
  const { documentId: id, file } = job.data;
  // In page order, as qpdf writes them.
  const pages = [...job.data.pages].sort((a, b) => a.source.index - b.source.index);
  if (await deps.ledger.isFinished(id)) return { pages: 0, split: false };
  const scratch = path.join(deps.scratchDir, `${id}.split.${file}`);
  try {
    const input = await deps.ledger.inputFile(id, file, path.join(scratch, file));
    if (!input) throw new UnrecoverableError(`the document's input ${file} is missing`);
    const indexes = pages.map((page) => page.source.index);
    const out = path.join(scratch, 'pages');
    await mkdir(out, { recursive: true });
    const split = await runTool(
      'qpdf',
      // Exit 3 is success with warnings (a damaged xref qpdf repaired): the pages are there.
      [
        '--warning-exit-0',
        input,
        '--pages',
        '.',
        formatPages(indexes),
        '--',
        '--split-pages',
        path.join(out, 'page.pdf'),
      ],
      { timeoutMs: deps.timeoutMs, maxBytes: 64 * 1024 },
    ).then(
      () => true,
      (err: unknown) => {
        deps.log.warn(
          { err, documentId: id, file },
          'qpdf could not split the PDF; its pages will read the whole file',
        );
        return false;
      },
    );
    const files = split ? await splitPages(out) : [];
    if (split && files.length !== indexes.length) {
      throw new Error(`qpdf wrote ${files.length} pages of ${file}, not the ${indexes.length} selected`);
    }
    if (!split) await deps.dispatch.enqueueSplitPages(id, pages);
    // A few at a time, each batch queued once stored: the first pages are read while the rest upload.
    for (let start = 0; start < files.length; start += STORE_BATCH) {
      const batch = pages.slice(start, start + STORE_BATCH);
      await Promise.all(
        batch.map((page, i) => deps.ledger.storeInputPage(id, file, page.source.index, files[start + i] as string)),
      );
      await deps.dispatch.enqueueSplitPages(
        id,
        batch.map((page) => ({ ...page, source: { ...page.source, split: true } })),
      );
    }
    return { pages: pages.length, split };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

import type { EngineChoice } from '@pagefleet/contract';

/**
 * Queue names are part of the Redis keys BullMQ writes: renaming one strands every job already
 * queued under the old name. Add a queue instead of renaming one.
 */
export const QUEUES = {
  documents: 'documents',
  pages: 'pages',
  /** Pages predicted above LARGE_PAGE_PIXELS: only workers with room for one take them. */
  pagesLarge: 'pages-large',
  /** Pages read with engine paddle or auto: only workers with room for PaddleOCR's models take them. */
  pagesPaddle: 'pages-paddle',
  /** Scheduled housekeeping (cleanup after RESULT_TTL), run by whichever worker takes it. */
  maintenance: 'maintenance',
  /** One delivery of a finished document's callback, retried with backoff. */
  webhooks: 'webhooks',
  /** A multi-page PDF split into one-page PDFs before its pages are queued (object storage). */
  splits: 'splits',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export type PageQueueName = typeof QUEUES.pages | typeof QUEUES.pagesLarge | typeof QUEUES.pagesPaddle;
export const PAGE_QUEUE_NAMES: readonly PageQueueName[] = [QUEUES.pages, QUEUES.pagesLarge, QUEUES.pagesPaddle];

/**
 * The queue a page goes to: PaddleOCR's when its engine may need the model (paddle, auto),
 * otherwise by the pixels it is predicted to have when rendered.
 */
export const pageQueueFor = (page: { pixels: number; engine: EngineChoice }, largePagePixels: number): PageQueueName =>
  page.engine !== 'tesseract' ? QUEUES.pagesPaddle : page.pixels > largePagePixels ? QUEUES.pagesLarge : QUEUES.pages;

/** BullMQ rejects custom job ids containing ':', so page ids join with '.'. */
export const pageJobId = (documentId: string, page: number) => `${documentId}.${page}`;

export function pageFromJobId(jobId: string): number | undefined {
  const match = /\.(\d+)$/.exec(jobId);
  return match ? Number(match[1]) : undefined;
}

export const splitJobId = (documentId: string, file: string) => `${documentId}.split.${file}`;

import type { JobsOptions, Queue } from 'bullmq';
import type { Config } from './config.js';
import type { DocumentJob } from './jobs.js';

/**
 * Queue names are part of the Redis keys BullMQ writes: renaming one strands every job already
 * queued under the old name. Add a queue instead of renaming one.
 */
export const QUEUES = {
  documents: 'documents',
  pages: 'pages',
  /** Pages predicted above LARGE_PAGE_PIXELS: only workers with room for one take them. */
  pagesLarge: 'pages-large',
  /** Scheduled housekeeping (cleanup after RESULT_TTL), run by whichever worker takes it. */
  maintenance: 'maintenance',
  /** One delivery of a finished document's callback, retried with backoff. */
  webhooks: 'webhooks',
  /** A multi-page PDF split into one-page PDFs before its pages are queued (object storage). */
  splits: 'splits',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export type PageQueueName = typeof QUEUES.pages | typeof QUEUES.pagesLarge;
export const PAGE_QUEUE_NAMES: readonly PageQueueName[] = [QUEUES.pages, QUEUES.pagesLarge];

/** The queue a page goes to, from the pixels it is predicted to have when rendered. */
export const pageQueueFor = (pixels: number, largePagePixels: number): PageQueueName =>
  pixels > largePagePixels ? QUEUES.pagesLarge : QUEUES.pages;

/** BullMQ rejects custom job ids containing ':', so page ids join with '.'. */
export const pageJobId = (documentId: string, page: number) => `${documentId}.${page}`;

export function pageFromJobId(jobId: string): number | undefined {
  const match = /\.(\d+)$/.exec(jobId);
  return match ? Number(match[1]) : undefined;
}

export const splitJobId = (documentId: string, file: string) => `${documentId}.split.${file}`;

/** A split that fails for good must not block its document: its pages then end without a result. */
export function splitJobOptions(config: Config, documentId: string, file: string): JobsOptions {
  return {
    jobId: splitJobId(documentId, file),
    attempts: config.PAGE_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.PAGE_BACKOFF_MS },
    ignoreDependencyOnFailure: true,
    removeOnComplete: { age: config.RESULT_TTL },
    removeOnFail: { age: config.RESULT_TTL },
  };
}

/**
 * Options of every page job. Priority is the page's index in its document, so documents
 * interleave: page 1 of a document submitted now runs before page 2 of one submitted earlier,
 * and a one-page upload never waits behind a 300-page one.
 */
export function pageJobOptions(config: Config, documentId: string, page: number): JobsOptions {
  return {
    jobId: pageJobId(documentId, page),
    priority: Math.min(page, 2_097_151),
    attempts: config.PAGE_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.PAGE_BACKOFF_MS },
    // A failed page must not block its document: the document finishes as `partial`.
    ignoreDependencyOnFailure: true,
    removeOnComplete: { age: config.RESULT_TTL },
    removeOnFail: { age: config.RESULT_TTL },
  };
}

export function documentJobOptions(config: Config, documentId: string): JobsOptions {
  return {
    jobId: documentId,
    attempts: config.PAGE_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.PAGE_BACKOFF_MS },
    removeOnComplete: { age: config.RESULT_TTL },
    removeOnFail: { age: config.RESULT_TTL },
  };
}

/**
 * Queues a document's own job again, for a document Redis lost or whose job is gone: a job that
 * has ended (failed for good, or completed before the state it wrote was lost) is replaced; one
 * waiting for its pages or running is left as it is.
 */
export async function requeueDocument(queue: Queue, config: Config, job: DocumentJob): Promise<void> {
  const existing = await queue.getJob(job.documentId);
  if (existing) {
    const state = await existing.getState();
    if (state !== 'failed' && state !== 'completed') return;
    await existing.remove();
  }
  await queue.add('document', job, documentJobOptions(config, job.documentId));
}

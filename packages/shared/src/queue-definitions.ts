import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import type { Config } from './config.js';
import {
  documentJobSchema,
  pageJobSchema,
  splitJobSchema,
  type DocumentJob,
  type PageJob,
  type SplitJob,
} from './jobs.js';
import { pageJobId, QUEUES, splitJobId, type QueueName } from './queues.js';
import { webhookJobSchema, type WebhookJob } from './webhooks.js';

/** What each queue's jobs carry. */
export interface QueuePayloads {
  [QUEUES.documents]: DocumentJob;
  [QUEUES.pages]: PageJob;
  [QUEUES.pagesLarge]: PageJob;
  [QUEUES.pagesPaddle]: PageJob;
  [QUEUES.maintenance]: unknown;
  [QUEUES.webhooks]: WebhookJob;
  [QUEUES.splits]: SplitJob;
}

/**
 * A queue's definition: the schema of its payload (the dispatcher queues it, the worker parses it
 * at the edge: a malformed one is unrecoverable) and the options its jobs are queued with. Which
 * workers take it, with how many slots, its handler and what its final failure means are its
 * handler's, in apps/worker/src/catalog.ts.
 */
export interface QueueDefinition<T> {
  payload: z.ZodType<T>;
  options(config: Config, data: T): JobsOptions;
}

/** Finished jobs stay RESULT_TTL, then go. */
const kept = (config: Config): JobsOptions => ({
  removeOnComplete: { age: config.RESULT_TTL },
  removeOnFail: { age: config.RESULT_TTL },
});

const retried = (config: Config, options: JobsOptions): JobsOptions => ({
  ...options,
  attempts: config.PAGE_ATTEMPTS,
  backoff: { type: 'exponential', delay: config.PAGE_BACKOFF_MS },
  ...kept(config),
});

/**
 * A page's priority is its index in its document, so documents interleave: page 1 of a document
 * submitted now runs before page 2 of one submitted earlier, and a one-page upload never waits
 * behind a 300-page one. A failed page must not block its document: it ends `partial`.
 */
const pages: QueueDefinition<PageJob> = {
  payload: pageJobSchema,
  options: (config, page) =>
    retried(config, {
      jobId: pageJobId(page.documentId, page.page),
      priority: Math.min(page.page, 2_097_151),
      ignoreDependencyOnFailure: true,
    }),
};

/** One definition per queue: a queue added to QUEUES without one does not compile. */
export const QUEUE_DEFINITIONS: { [Q in QueueName]: QueueDefinition<QueuePayloads[Q]> } = {
  [QUEUES.documents]: {
    payload: documentJobSchema,
    options: (config, job) => retried(config, { jobId: job.documentId }),
  },
  [QUEUES.pages]: pages,
  [QUEUES.pagesLarge]: pages,
  [QUEUES.pagesPaddle]: pages,
  // A split that fails for good must not block its document: its pages then end without a result.
  [QUEUES.splits]: {
    payload: splitJobSchema,
    options: (config, job) =>
      retried(config, { jobId: splitJobId(job.documentId, job.file), ignoreDependencyOnFailure: true }),
  },
  // One webhook job per document: its id dedupes the worker's and the API's (cancel) enqueues.
  [QUEUES.webhooks]: {
    payload: webhookJobSchema,
    options: (config, job) => ({
      jobId: `${job.documentId}.webhook`,
      attempts: config.WEBHOOK_ATTEMPTS,
      backoff: { type: 'exponential', delay: config.WEBHOOK_BACKOFF_MS },
      ...kept(config),
    }),
  },
  // The scheduled cleanup carries nothing; its runs are kept a few at a time.
  [QUEUES.maintenance]: {
    payload: z.unknown(),
    options: () => ({ removeOnComplete: 10, removeOnFail: 10 }),
  },
};

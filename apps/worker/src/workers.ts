import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis, DocumentStore, QUEUES, type Config, type Logger, type QueueName } from '@pagefleet/shared';
import { OcrPool } from './pipeline/ocr.js';
import { createRasterizer } from './pipeline/rasterize.js';
import type { ProcessorDeps } from './processors/deps.js';
import { processDocument } from './processors/document.js';
import { DocumentCanceledError, processPage, recordPageFailure } from './processors/page.js';

export interface WorkerOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
}

// A compile-time fact: every queue has a processor.
const processors: { [Q in QueueName]: (job: Job, deps: ProcessorDeps) => Promise<unknown> } = {
  [QUEUES.pages]: processPage,
  [QUEUES.documents]: processDocument,
};

/** Documents only combine stored pages: a few slots are plenty and cost no OCR memory. */
const DOCUMENT_CONCURRENCY = 4;

const isFinalFailure = (job: Job, err: Error) =>
  err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);

export function startWorkers(deps: ProcessorDeps, options: WorkerOptions): Worker[] {
  const common = { connection: options.connection, prefix: options.prefix };
  const pages = new Worker(QUEUES.pages, (job) => processors.pages(job, deps), {
    ...common,
    concurrency: options.concurrency,
  });
  const documents = new Worker(QUEUES.documents, (job) => processors.documents(job, deps), {
    ...common,
    concurrency: DOCUMENT_CONCURRENCY,
  });

  pages.on('completed', (job, summary) =>
    deps.log.info({ jobId: job.data.documentId, page: job.data.page, ...summary }, 'page completed'),
  );
  pages.on('failed', (job, err) => {
    if (!job) return;
    const final = isFinalFailure(job, err);
    const log = deps.log.child({ jobId: job.data.documentId, page: job.data.page });
    log.warn({ err, attempt: job.attemptsMade, final }, final ? 'page failed' : 'page attempt failed, will retry');
    if (final && !(err instanceof DocumentCanceledError)) {
      recordPageFailure(deps, job.data.documentId, job.data.page, err.message).catch((recordErr: unknown) =>
        log.error({ err: recordErr }, 'could not record page failure; the document will record it when it ends'),
      );
    }
  });
  documents.on('completed', (job, summary) => deps.log.info({ jobId: job.data.documentId, ...summary }, 'document finished'));
  documents.on('failed', (job, err) => deps.log.error({ jobId: job?.data.documentId, err }, 'document processing failed'));
  for (const worker of [pages, documents]) worker.on('error', (err) => deps.log.error({ err }, 'worker error'));
  return [pages, documents];
}

export interface RunningWorker {
  /** Stops taking pages and waits up to `deadlineMs` for active ones; false if they did not finish. */
  close(deadlineMs: number): Promise<boolean>;
}

/** A worker process's whole machinery, wired from the config. */
export function runWorker(config: Config, log: Logger): RunningWorker {
  const redis = createRedis(config.REDIS_URL, 'consumer', log);
  const ocr = new OcrPool(config.WORKER_CONCURRENCY, config.TESSDATA_DIR);
  const workers = startWorkers(
    {
      dataDir: config.DATA_DIR,
      documents: new DocumentStore(redis, config.QUEUE_PREFIX, config.RESULT_TTL),
      rasterizer: createRasterizer(config.RASTERIZER, {
        maxPixels: config.MAX_PAGE_PIXELS,
        timeoutMs: config.RASTERIZE_TIMEOUT_MS,
      }),
      ocr,
      maxPixels: config.MAX_PAGE_PIXELS,
      log,
    },
    { connection: redis, prefix: config.QUEUE_PREFIX, concurrency: config.WORKER_CONCURRENCY },
  );
  return {
    async close(deadlineMs) {
      // worker.close() waits for active jobs with no timeout of its own.
      const deadline = new Promise<false>((resolve) => setTimeout(resolve, deadlineMs, false).unref());
      const closed = Promise.all(workers.map((worker) => worker.close())).then(() => true);
      const finished = await Promise.race([closed, deadline]);
      await ocr.close();
      await redis.quit().catch(() => undefined);
      return finished;
    },
  };
}

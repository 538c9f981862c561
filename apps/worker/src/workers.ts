import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import sharp from 'sharp';
import { createRedis, DocumentStore, mebibytes, QUEUES, type Config, type Logger, type PageQueueName } from '@pagefleet/shared';
import { detectCapacity } from './capacity/detect.js';
import type { CapacityPlan } from './capacity/plan.js';
import { OcrPool } from './pipeline/ocr.js';
import type { PipelineDeps } from './pipeline/page.js';
import { createRasterizer } from './pipeline/rasterize.js';
import type { ProcessorDeps } from './processors/deps.js';
import { processDocument } from './processors/document.js';
import { DocumentCanceledError, processPage, recordPageFailure } from './processors/page.js';

export interface WorkerOptions {
  connection: Redis;
  prefix: string;
  /** The page queues this process takes, each with its slots and its own OCR pool. */
  pageQueues: Array<{ queue: PageQueueName; slots: number; ocr: OcrPool }>;
}

/** Documents only combine stored pages: a few slots are plenty and cost no OCR memory. */
const DOCUMENT_CONCURRENCY = 4;

const isFinalFailure = (job: Job, err: Error) =>
  err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);

export function startWorkers(deps: ProcessorDeps & Omit<PipelineDeps, 'ocr'>, options: WorkerOptions): Worker[] {
  const common = { connection: options.connection, prefix: options.prefix };
  const pageWorkers = options.pageQueues.map(({ queue, slots, ocr }) => {
    const pageDeps = { ...deps, ocr };
    const worker = new Worker(queue, (job) => processPage(job, pageDeps), { ...common, concurrency: slots });
    worker.on('completed', (job, summary) =>
      deps.log.info({ jobId: job.data.documentId, page: job.data.page, queue, ...summary }, 'page completed'),
    );
    worker.on('failed', (job, err) => {
      if (!job) return;
      const final = isFinalFailure(job, err);
      const log = deps.log.child({ jobId: job.data.documentId, page: job.data.page, queue });
      log.warn({ err, attempt: job.attemptsMade, final }, final ? 'page failed' : 'page attempt failed, will retry');
      if (final && !(err instanceof DocumentCanceledError)) {
        recordPageFailure(deps, job.data.documentId, job.data.page, err.message).catch((recordErr: unknown) =>
          log.error({ err: recordErr }, 'could not record page failure; the document will record it when it ends'),
        );
      }
    });
    return worker;
  });
  const documents = new Worker(QUEUES.documents, (job) => processDocument(job, deps), {
    ...common,
    concurrency: DOCUMENT_CONCURRENCY,
  });
  documents.on('completed', (job, summary) => deps.log.info({ jobId: job.data.documentId, ...summary }, 'document finished'));
  documents.on('failed', (job, err) => deps.log.error({ jobId: job?.data.documentId, err }, 'document processing failed'));
  const workers = [...pageWorkers, documents];
  for (const worker of workers) worker.on('error', (err) => deps.log.error({ err }, 'worker error'));
  return workers;
}

export interface RunningWorker {
  /** Stops taking pages and waits up to `deadlineMs` for active ones; false if they did not finish. */
  close(deadlineMs: number): Promise<boolean>;
}

/** A worker process's whole machinery, wired from the config and sized by its capacity plan. */
export async function runWorker(config: Config, log: Logger, plan?: CapacityPlan): Promise<RunningWorker> {
  const capacity = plan ?? (await detectCapacity(config));
  log.info(
    {
      budgetMiB: mebibytes(capacity.budgetBytes),
      budgetSource: capacity.budgetSource,
      cpus: capacity.cpus,
      concurrencySource: capacity.concurrencySource,
      queues: Object.fromEntries(capacity.queues.map(({ queue, slots, slotBytes }) => [queue, { slots, slotMiB: mebibytes(slotBytes) }])),
    },
    'capacity planned',
  );
  // Parallelism comes from the slots: libvips' own thread pool and operation cache would only
  // multiply memory per slot (the defaults suit a desktop application, not a server).
  sharp.concurrency(1);
  sharp.cache(false);

  const redis = createRedis(config.REDIS_URL, 'consumer', log);
  const pageQueues = capacity.queues.map(({ queue, slots }) => ({
    queue,
    slots,
    ocr: new OcrPool({
      slots,
      tessdataDir: config.TESSDATA_DIR,
      maxPages: config.OCR_MAX_PAGES,
      maxHeapBytes: config.OCR_MAX_HEAP,
      log: log.child({ queue }),
    }),
  }));
  const workers = startWorkers(
    {
      dataDir: config.DATA_DIR,
      documents: new DocumentStore(redis, config.QUEUE_PREFIX, config.RESULT_TTL),
      rasterizer: createRasterizer(config.RASTERIZER, {
        maxPixels: config.MAX_PAGE_PIXELS,
        timeoutMs: config.RASTERIZE_TIMEOUT_MS,
      }),
      maxPixels: config.MAX_PAGE_PIXELS,
      log,
    },
    { connection: redis, prefix: config.QUEUE_PREFIX, pageQueues },
  );
  return {
    async close(deadlineMs) {
      // worker.close() waits for active jobs with no timeout of its own.
      const deadline = new Promise<false>((resolve) => setTimeout(resolve, deadlineMs, false).unref());
      const closed = Promise.all(workers.map((worker) => worker.close())).then(() => true);
      const finished = await Promise.race([closed, deadline]);
      await Promise.all(pageQueues.map(({ ocr }) => ocr.close()));
      await redis.quit().catch(() => undefined);
      return finished;
    },
  };
}

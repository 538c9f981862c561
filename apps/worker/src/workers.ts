import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  createRedis,
  DocumentStore,
  HeartbeatStore,
  mebibytes,
  pingRedis,
  QUEUES,
  queueWebhook,
  warnUnlessNoEviction,
  type Config,
  type DocumentJob,
  type PageJob,
  type WebhookJob,
  type Logger,
  type PageQueueName,
} from '@pagefleet/shared';
import { detectCapacity } from './capacity/detect.js';
import type { CapacityPlan } from './capacity/plan.js';
import { startHeartbeat } from './heartbeat.js';
import { startProbeServer } from './http.js';
import { createWorkerMetrics, type PageOutcome, type WorkerMetrics } from './metrics.js';
import { PageTimeoutError } from './pipeline/deadline.js';
import { createOcrEngine } from './pipeline/engine.js';
import type { OcrEngine } from './pipeline/ocr.js';
import { OrientationDetector } from './pipeline/orientation.js';
import type { PipelineDeps } from './pipeline/page.js';
import { createRasterizer } from './pipeline/rasterize.js';
import { cleanExpired } from './processors/cleanup.js';
import type { DocumentProcessorDeps } from './processors/deps.js';
import { processDocument, type DocumentSummary } from './processors/document.js';
import { deliverWebhook, type WebhookDeps } from './processors/webhook.js';
import {
  describeFailure,
  DocumentCanceledError,
  processPage,
  recordPageFailure,
  type PageSummary,
} from './processors/page.js';

/** How BullMQ finds pages whose worker died: see LOCK_DURATION_MS and its neighbours in the config. */
export interface StallOptions {
  lockDuration: number;
  stalledInterval: number;
  maxStalledCount: number;
}

export interface WorkerOptions {
  connection: Redis;
  prefix: string;
  stall: StallOptions;
  /** The page queues this process takes, each with its slots and its own OCR pool. */
  pageQueues: Array<{ queue: PageQueueName; slots: number; ocr: OcrEngine }>;
  /** Filled with the pages in progress in this process, by BullMQ job id. */
  active: Map<string, ActivePage>;
}

/** Documents only combine stored pages: a few slots are plenty and cost no OCR memory. */
const DOCUMENT_CONCURRENCY = 4;

/** Webhooks only wait on their receivers: more at once costs nothing but sockets. */
const WEBHOOK_CONCURRENCY = 8;

const CLEANUP_SCHEDULER = 'cleanup';

const isFinalFailure = (job: Job, err: Error) =>
  err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);

/** A page being processed, with the lock token that lets this process hand it back. */
export interface ActivePage {
  job: Job;
  queue: PageQueueName;
  token: string;
  /** Abandons the page's processing once it has been handed back. */
  stop: AbortController;
}

/** Counts a completed page in the metrics: its outcome, its times by stage, its confidence and size. */
function observeCompleted(metrics: WorkerMetrics, queue: PageQueueName, summary: PageSummary): void {
  metrics.pages.inc({ queue, outcome: 'completed' });
  metrics.methods.inc({ method: summary.method });
  let total = 0;
  for (const [stage, ms] of Object.entries(summary.durations)) {
    metrics.stageDuration.observe({ stage }, ms / 1000);
    total += ms;
  }
  metrics.pageDuration.observe({ queue }, total / 1000);
  metrics.confidence.observe(summary.confidence / 100);
  metrics.pixels.observe(summary.pixels);
}

function failureOutcome(err: Error, final: boolean): PageOutcome {
  if (err instanceof DocumentCanceledError) return 'canceled';
  return final ? 'failed' : 'retried';
}

export interface WorkerDeps extends DocumentProcessorDeps, Omit<PipelineDeps, 'ocr'> {
  metrics: WorkerMetrics;
  webhook: Omit<WebhookDeps, 'documents'>;
}

export function startWorkers(deps: WorkerDeps, options: WorkerOptions): Worker[] {
  const common = { connection: options.connection, prefix: options.prefix, ...options.stall };
  const { active } = options;
  const { metrics } = deps;
  const pageWorkers = options.pageQueues.map(({ queue, slots, ocr }) => {
    const pageDeps = { ...deps, ocr };
    metrics.slots.set({ queue }, slots);
    const worker = new Worker<PageJob, PageSummary>(
      queue,
      async (job, token) => {
        const key = job.id ?? '';
        const stop = new AbortController();
        active.set(key, { job, queue, token: token ?? '', stop });
        metrics.attempts.inc({ queue });
        try {
          return await processPage(job, pageDeps, stop.signal);
        } finally {
          active.delete(key);
        }
      },
      { ...common, concurrency: slots },
    );
    worker.on('completed', (job, summary: PageSummary) => {
      observeCompleted(metrics, queue, summary);
      deps.log.info(
        { jobId: job.data.documentId, page: job.data.page, queue, ...summary, rssBytes: process.memoryUsage.rss() },
        'page completed',
      );
    });
    worker.on('stalled', (jobId) => {
      metrics.stalled.inc({ queue });
      deps.log.warn({ job: jobId, queue }, 'page stalled: its worker died; queued again');
    });
    worker.on('failed', (job, err) => {
      if (!job) return;
      const final = isFinalFailure(job, err);
      metrics.pages.inc({ queue, outcome: failureOutcome(err, final) });
      if (err instanceof PageTimeoutError) metrics.timeouts.inc({ stage: err.stage });
      if (final && describeFailure(err.message).reason === 'oom') metrics.oom.inc();
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
  const documents = new Worker<DocumentJob, DocumentSummary | undefined>(
    QUEUES.documents,
    (job) => processDocument(job, deps),
    {
      ...common,
      concurrency: DOCUMENT_CONCURRENCY,
    },
  );
  documents.on('completed', (job, summary: DocumentSummary | undefined) => {
    if (!summary) return;
    metrics.documents.inc({ status: summary.status });
    deps.log.info({ jobId: job.data.documentId, ...summary }, 'document finished');
  });
  documents.on('failed', (job, err) =>
    deps.log.error({ jobId: job?.data.documentId, err }, 'document processing failed'),
  );
  const webhooks = new Worker<WebhookJob, { status: number }>(
    QUEUES.webhooks,
    (job) => deliverWebhook(job, { ...deps.webhook, documents: deps.documents }),
    {
      ...common,
      concurrency: WEBHOOK_CONCURRENCY,
    },
  );
  webhooks.on('completed', (job, delivered: { status: number }) => {
    metrics.webhooks.inc({ outcome: 'delivered' });
    deps.log.info(
      { jobId: job.data.documentId, attempt: job.attemptsStarted, status: delivered.status },
      'webhook delivered',
    );
  });
  webhooks.on('failed', (job, err) => {
    if (!job) return;
    const final = isFinalFailure(job, err);
    metrics.webhooks.inc({ outcome: final ? 'failed' : 'retried' });
    deps.log.warn(
      { jobId: job.data.documentId, attempt: job.attemptsMade, final, err },
      final ? 'webhook given up' : 'webhook attempt failed, will retry',
    );
  });
  const all = [...pageWorkers, documents, webhooks];
  for (const worker of all) worker.on('error', (err) => deps.log.error({ err }, 'worker error'));
  return all;
}

/**
 * Every worker schedules the same cleanup (an upsert: one scheduler whatever the replicas), and
 * whichever worker is free runs each occurrence.
 */
async function startMaintenance(config: Config, connection: Redis, documents: DocumentStore, log: Logger) {
  const queueOptions = { connection, prefix: config.QUEUE_PREFIX };
  // Every queue, whose finished jobs the cleanup trims; the maintenance queue also holds the schedule.
  const queues = Object.values(QUEUES).map((name) => new Queue(name, queueOptions));
  for (const queue of queues) queue.on('error', (err) => log.warn({ err }, 'queue error'));
  const maintenance = queues.find((queue) => queue.name === QUEUES.maintenance) as Queue;
  await maintenance.upsertJobScheduler(
    CLEANUP_SCHEDULER,
    { every: config.CLEANUP_INTERVAL_MS },
    { name: CLEANUP_SCHEDULER, opts: { removeOnComplete: 10, removeOnFail: 10 } },
  );
  const worker = new Worker(
    QUEUES.maintenance,
    () => cleanExpired({ dataDir: config.DATA_DIR, documents, queues, ttlSeconds: config.RESULT_TTL }),
    { ...queueOptions, concurrency: 1 },
  );
  worker.on('completed', (_job, summary) => log.info({ removed: summary }, 'cleanup done'));
  worker.on('failed', (_job, err) => log.error({ err }, 'cleanup failed'));
  worker.on('error', (err) => log.error({ err }, 'worker error'));
  return {
    worker,
    async close() {
      await Promise.all(queues.map((queue) => queue.close()));
    },
  };
}

export interface ShutdownOutcome {
  /** Pages that finished within the grace period. */
  finished: boolean;
  /** Pages still running at its end, moved back to their queue for another worker. */
  handedBack: number;
}

export interface RunningWorker {
  /** Heartbeat id, as `GET /v1/workers` lists it. */
  id: string;
  /** Port of the worker's /metrics, /health and /ready (WORKER_PORT, or the one picked for 0). */
  port: number;
  /**
   * Stops taking pages and gives active ones `graceMs` to finish; the rest are handed back to
   * their queue (as if never started) so another worker takes them at once.
   */
  close(graceMs: number): Promise<ShutdownOutcome>;
}

/** Once its pages are handed back, how long a worker's close may take before its connections are cut. */
const CLOSE_STUCK_MS = 5000;

/** True when `promise` settles within `ms`; false when the time runs out first. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** How long /ready waits for Redis to answer. */
const PING_TIMEOUT_MS = 1000;

/** A worker process's whole machinery, wired from the config and sized by its capacity plan. */
export async function runWorker(config: Config, log: Logger, plan?: CapacityPlan): Promise<RunningWorker> {
  const capacity = plan ?? (await detectCapacity(config));
  log.info(
    {
      budgetMiB: mebibytes(capacity.budgetBytes),
      budgetSource: capacity.budgetSource,
      cpus: capacity.cpus,
      concurrencySource: capacity.concurrencySource,
      queues: Object.fromEntries(
        capacity.queues.map(({ queue, slots, slotBytes }) => [queue, { slots, slotMiB: mebibytes(slotBytes) }]),
      ),
    },
    'capacity planned',
  );

  const active = new Map<string, ActivePage>();
  const busyByQueue = () => {
    const busy = new Map<string, number>(capacity.queues.map(({ queue }) => [queue, 0]));
    for (const page of active.values()) busy.set(page.queue, (busy.get(page.queue) ?? 0) + 1);
    return busy;
  };
  const metrics = createWorkerMetrics(busyByQueue);
  metrics.memoryBudget.set(capacity.budgetBytes);

  const redis = createRedis(config.REDIS_URL, 'consumer', log);
  redis.once('ready', () => void warnUnlessNoEviction(redis, log));
  const documents = new DocumentStore(redis, config.QUEUE_PREFIX, config.RESULT_TTL);
  const webhookQueue = new Queue(QUEUES.webhooks, { connection: redis, prefix: config.QUEUE_PREFIX });
  webhookQueue.on('error', (err) => log.warn({ err }, 'queue error'));
  const pageQueues = capacity.queues.map(({ queue, slots }) => ({
    queue,
    slots,
    ocr: createOcrEngine(config, slots, log.child({ queue }), (reason) => metrics.recycles.inc({ reason })),
  }));
  // One detector for every queue: few pages need it.
  const orientation = config.AUTO_ROTATE ? new OrientationDetector() : undefined;
  // Ready once one thread per pool has started: the engine and its language data work.
  let ocrReady = false;
  void Promise.all(pageQueues.map(({ ocr }) => ocr.warmUp(config.DEFAULT_LANGUAGES))).then(
    () => (ocrReady = true),
    (err: unknown) => log.error({ err }, 'the OCR engine did not start; this worker is not ready'),
  );
  const probes = await startProbeServer({
    host: config.HOST,
    port: config.WORKER_PORT,
    registry: metrics.registry,
    checks: async () => ({ redis: await pingRedis(redis, PING_TIMEOUT_MS), ocr: ocrReady }),
    log,
  });
  log.info({ port: probes.port }, 'worker metrics and probes listening');
  const workers = startWorkers(
    {
      dataDir: config.DATA_DIR,
      documents,
      rasterizer: createRasterizer(config.RASTERIZER),
      onVerdict: (verdict) => metrics.textLayers.inc({ verdict: verdict.reason }),
      orientation,
      maxPixels: config.MAX_PAGE_PIXELS,
      timeoutMs: config.PAGE_TIMEOUT_MS,
      metrics,
      queueWebhook: (documentId) => queueWebhook(webhookQueue, documents, config, documentId),
      pdfTimeoutMs: config.PAGE_TIMEOUT_MS,
      webhook: {
        secret: config.WEBHOOK_SECRET,
        allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
        timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      },
      log,
    },
    {
      connection: redis,
      prefix: config.QUEUE_PREFIX,
      stall: {
        lockDuration: config.LOCK_DURATION_MS,
        stalledInterval: config.STALLED_INTERVAL_MS,
        maxStalledCount: config.MAX_STALLED_COUNT,
      },
      pageQueues,
      active,
    },
  );
  const heartbeat = startHeartbeat({
    store: new HeartbeatStore(redis, config.QUEUE_PREFIX, config.HEARTBEAT_INTERVAL_MS),
    intervalMs: config.HEARTBEAT_INTERVAL_MS,
    memoryBudgetBytes: capacity.budgetBytes,
    snapshot: async () => {
      const busy = busyByQueue();
      const processed = await metrics.pages.get();
      return {
        queues: capacity.queues.map(({ queue, slots }) => ({ queue, slots, busy: busy.get(queue) ?? 0 })),
        pagesDone: processed.values
          .filter((value) => value.labels.outcome === 'completed')
          .reduce((sum, value) => sum + value.value, 0),
      };
    },
    log,
  });
  const maintenance = await startMaintenance(config, redis, documents, log);
  const all = [...workers, maintenance.worker];
  return {
    id: heartbeat.id,
    port: probes.port,
    async close(graceMs) {
      await heartbeat.stop();
      // worker.close() stops fetching, then waits for active jobs with no timeout of its own.
      const closing = Promise.all(all.map((worker) => worker.close()));
      const finished = await settlesWithin(closing, graceMs);
      let handedBack = 0;
      if (!finished) {
        for (const { job, token, stop } of active.values()) {
          await job.moveToWait(token).then(
            () => handedBack++,
            (err: unknown) => log.warn({ err, job: job.id }, 'could not hand a page back; its lock will expire'),
          );
          // Its result would be refused anyway: the page is no longer this worker's.
          stop.abort(new Error('page handed back on shutdown'));
        }
        // A worker whose blocking connection is stuck reconnecting after a Redis outage never
        // closes (taskforcesh/bullmq#4585, #4656): its connections are cut instead.
        if (!(await settlesWithin(closing, CLOSE_STUCK_MS))) {
          log.warn({ waitedMs: CLOSE_STUCK_MS }, 'BullMQ workers did not close; disconnecting them');
          await Promise.allSettled(all.map((worker) => settlesWithin(worker.disconnect(), CLOSE_STUCK_MS)));
        }
      }
      await Promise.all([...pageQueues.map(({ ocr }) => ocr.close()), orientation?.close()]);
      await maintenance.close();
      await webhookQueue.close();
      await probes.close();
      await redis.quit().catch(() => undefined);
      return { finished, handedBack };
    },
  };
}

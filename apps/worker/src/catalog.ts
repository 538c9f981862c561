import { DelayedError, UnrecoverableError, Worker, type Job, type WorkerOptions } from 'bullmq';
import {
  QUEUE_DEFINITIONS,
  QUEUES,
  type DocumentJob,
  type Logger,
  type PageJob,
  type PageQueueName,
  type QueueName,
  type QueuePayloads,
  type SplitJob,
  type WebhookJob,
} from '@pagefleet/shared';
import type { PageOutcome, WorkerMetrics } from './metrics.js';
import { decideEnd, endOf } from './attempts.js';
import { PageTimeoutError } from './pipeline/deadline.js';
import type { CleanupSummary } from './processors/cleanup.js';
import type { DocumentSummary } from './processors/document.js';
import { DocumentCanceledError, type PageSummary } from './processors/page.js';
import type { SplitSummary } from './processors/split.js';
import type { WriteGate } from './write-gate.js';

/** What the jobs of each queue return (what they carry is their queue's definition, QueuePayloads). */
export interface QueueResults {
  [QUEUES.documents]: DocumentSummary | undefined;
  [QUEUES.pages]: PageSummary;
  [QUEUES.pagesLarge]: PageSummary;
  [QUEUES.pagesPaddle]: PageSummary;
  [QUEUES.maintenance]: CleanupSummary;
  [QUEUES.webhooks]: { status: number };
  [QUEUES.splits]: SplitSummary;
}

/** How one process takes one queue, whose jobs carry `Data` and return `Result`. */
export interface QueueHandler<Data, Result> {
  /** Jobs at once in this process; 0: this process does not take the queue. */
  concurrency: number;
  process(job: Job<Data, Result>, token: string): Promise<Result>;
  /** Logs and counts how its jobs end. */
  observe(worker: Worker<Data, Result>): void;
}

/** Every queue has a handler: a queue added to QUEUES without one does not compile. */
export type Catalog = { [Q in QueueName]: QueueHandler<QueuePayloads[Q], QueueResults[Q]> };
type HandlerOf<Q extends QueueName> = Catalog[Q];

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
  if (summary.engine) metrics.engines.inc({ engine: summary.engine, asked: summary.asked });
  metrics.fetchedBytes.inc(summary.fetchedBytes);
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

/** How long a page that came back to the worker still running it waits before it is taken again. */
const RETAKE_DELAY_MS = 1000;

export interface PageQueueDeps {
  queue: PageQueueName;
  slots: number;
  /** Filled with the pages in progress in this process, by BullMQ job id. */
  active: Map<string, ActivePage>;
  metrics: WorkerMetrics;
  log: Logger;
  /** Called as each page is taken: the watchdog's sign of life. */
  onTaken(): void;
  /** Called as each attempt ends, after `seconds` in a slot; `summary` where the page completed (usage). */
  onEnded(job: Job<PageJob>, seconds: number, summary: PageSummary | undefined): void;
  process(job: Job<PageJob>, stop: AbortSignal): Promise<PageSummary>;
}

/** A page queue's handler: its slots, the pages in progress, and their logs and metrics. */
export function pageHandler(deps: PageQueueDeps): HandlerOf<PageQueueName> {
  const { queue, active, metrics, log } = deps;
  metrics.slots.set({ queue }, deps.slots);
  return {
    concurrency: deps.slots,
    async process(job, token) {
      deps.onTaken();
      const key = job.id ?? '';
      if (active.has(key)) {
        // The page stalled while this worker still runs it (Redis paused past its lock) and came
        // back here. BullMQ tracks locks by job id, so the earlier attempt ending would drop the
        // new one's lock: the new one waits until the earlier one has ended.
        await job.moveToDelayed(Date.now() + RETAKE_DELAY_MS, token);
        throw new DelayedError();
      }
      const stop = new AbortController();
      active.set(key, { job, queue, token, stop });
      metrics.attempts.inc({ queue });
      const started = performance.now();
      let summary: PageSummary | undefined;
      try {
        summary = await deps.process(job, stop.signal);
        return summary;
      } finally {
        active.delete(key);
        deps.onEnded(job, (performance.now() - started) / 1000, summary);
      }
    },
    observe(worker) {
      worker.on('completed', (job, summary) => {
        observeCompleted(metrics, queue, summary);
        log.info(
          {
            documentId: job.data.documentId,
            page: job.data.page,
            queue,
            ...summary,
            rssBytes: process.memoryUsage.rss(),
          },
          'page completed',
        );
      });
      worker.on('stalled', (jobId) => {
        metrics.stalled.inc({ queue });
        log.warn({ job: jobId, queue }, 'page stalled (its worker died, or Redis paused past its lock): queued again');
      });
      worker.on('failed', (job, err) => {
        if (!job) return;
        const { final, failure } = endOf(err);
        metrics.pages.inc({ queue, outcome: failureOutcome(err, final) });
        if (err instanceof DocumentCanceledError) {
          log.info(
            { documentId: job.data.documentId, page: job.data.page, queue },
            'page of an ended document dropped',
          );
          return;
        }
        if (err instanceof PageTimeoutError) metrics.timeouts.inc({ stage: err.stage });
        if (final && failure.reason === 'oom') metrics.oom.inc();
        log.warn(
          { documentId: job.data.documentId, page: job.data.page, queue, err, attemptsMade: job.attemptsMade, final },
          final ? 'page failed' : 'page attempt failed, will retry',
        );
      });
    },
  };
}

export function documentHandler(
  process: (job: Job<DocumentJob>) => Promise<DocumentSummary | undefined>,
  metrics: WorkerMetrics,
  log: Logger,
): HandlerOf<typeof QUEUES.documents> {
  return {
    // Documents only combine stored pages: a few slots are plenty and cost no OCR memory.
    concurrency: 4,
    process,
    observe(worker) {
      worker.on('completed', (job, summary) => {
        if (!summary) return;
        metrics.documents.inc({ status: summary.status });
        log.info({ documentId: job.data.documentId, ...summary }, 'document finished');
      });
      worker.on('failed', (job, err) =>
        log.error({ documentId: job?.data.documentId, err }, 'document processing failed'),
      );
    },
  };
}

export function webhookHandler(
  process: (job: Job<WebhookJob>) => Promise<{ status: number }>,
  metrics: WorkerMetrics,
  log: Logger,
): HandlerOf<typeof QUEUES.webhooks> {
  return {
    // Webhooks only wait on their receivers: more at once costs nothing but sockets.
    concurrency: 8,
    process,
    observe(worker) {
      worker.on('completed', (job, delivered) => {
        metrics.webhooks.inc({ outcome: 'delivered' });
        log.info(
          { documentId: job.data.documentId, attemptsStarted: job.attemptsStarted, status: delivered.status },
          'webhook delivered',
        );
      });
      worker.on('failed', (job, err) => {
        if (!job) return;
        const { final } = endOf(err);
        metrics.webhooks.inc({ outcome: final ? 'failed' : 'retried' });
        log.warn(
          { documentId: job.data.documentId, attemptsMade: job.attemptsMade, final, err },
          final ? 'webhook given up' : 'webhook attempt failed, will retry',
        );
      });
    },
  };
}

export function splitHandler(
  process: (job: Job<SplitJob>) => Promise<SplitSummary>,
  metrics: WorkerMetrics,
  log: Logger,
): HandlerOf<typeof QUEUES.splits> {
  return {
    // qpdf holds the PDF's object tree: one at a time keeps a worker's memory its slots' own.
    concurrency: 1,
    process,
    observe(worker) {
      worker.on('completed', (job, summary) => {
        if (summary.pages === 0) return;
        metrics.splits.inc({ outcome: summary.split ? 'split' : 'whole' });
        log.info({ documentId: job.data.documentId, file: job.data.file, ...summary }, 'pdf split, pages queued');
      });
      worker.on('failed', (job, err) => {
        if (!job) return;
        const { final } = endOf(err);
        log.warn(
          { documentId: job.data.documentId, file: job.data.file, err, attemptsMade: job.attemptsMade, final },
          final ? 'pdf split given up: its pages end without a result' : 'pdf split failed, will retry',
        );
      });
    },
  };
}

export function maintenanceHandler(
  process: () => Promise<CleanupSummary>,
  log: Logger,
): HandlerOf<typeof QUEUES.maintenance> {
  return {
    concurrency: 1,
    process,
    observe(worker) {
      worker.on('completed', (_job, summary) => log.info({ removed: summary }, 'cleanup done'));
      worker.on('failed', (_job, err) => log.error({ err }, 'cleanup failed'));
    },
  };
}

function startOne<Data, Result>(
  name: QueueName,
  handler: QueueHandler<Data, Result>,
  options: Omit<WorkerOptions, 'concurrency'>,
  gate: WriteGate,
  log: Logger,
): Worker {
  // The payload is parsed at the edge, by its queue's definition (malformed: unrecoverable), and
  // every failed attempt's end is decided here, once, while it runs (its 'failed' event reads it).
  // An attempt that Redis' refusal of a write interrupted runs again once Redis takes writes (the
  // gate): its attempt is not spent (BullMQ could not record the failure anyway).
  const payload = QUEUE_DEFINITIONS[name].payload;
  const attempt = async (job: Job<Data, Result>, token: string) => {
    try {
      const parsed = payload.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`malformed ${name} job: ${parsed.error.message}`);
      job.data = parsed.data as Data;
      return await handler.process(job, token);
    } catch (err) {
      if (err instanceof Error && !(err instanceof DelayedError)) decideEnd(job, err);
      throw err;
    }
  };
  const worker = new Worker<Data, Result>(name, (job, token) => gate.through(() => attempt(job, token ?? '')), {
    ...options,
    concurrency: handler.concurrency,
  });
  handler.observe(worker);
  worker.on('error', (err) => {
    if (!gate.report(err)) log.error({ err, queue: name }, 'worker error');
  });
  return worker as Worker;
}

/** One BullMQ worker per queue this process takes; `gate` hears of every error they meet. */
export function startCatalog(
  catalog: Catalog,
  options: Omit<WorkerOptions, 'concurrency'>,
  gate: WriteGate,
  log: Logger,
): Worker[] {
  const names = Object.keys(catalog) as QueueName[];
  return names
    .filter((name) => catalog[name].concurrency > 0)
    .map((name) =>
      startOne<unknown, unknown>(name, catalog[name] as QueueHandler<unknown, unknown>, options, gate, log),
    );
}

import type { Job, Worker } from 'bullmq';
import { PAGE_QUEUE_NAMES, type Config, type Logger, type PageJob, type PageQueueName } from '@pagefleet/shared';
import type { CapacityPlan } from './capacity/plan.js';
import { pageHandler, type ActivePage, type Catalog, type PageQueueDeps } from './catalog.js';
import type { WorkerMetrics } from './metrics.js';
import { createPageEngines, createRegionEngine } from './pipeline/engine.js';
import type { OcrEngine } from './pipeline/ocr.js';
import type { PageEngines } from './pipeline/page.js';
import type { PageSummary } from './processors/page.js';
import type { QueueLook, WatchedQueue } from './watchdog.js';

/**
 * The page queues of one worker process, as its capacity plan sized them: each planned queue's
 * slots and engines, the pages in progress, and when each queue last gave a page. A queue the plan
 * left out has no slots and no engine: its handler never runs.
 */
export class PageQueues {
  /** The pages in progress, by BullMQ job id, with the lock token that lets this process hand them back. */
  readonly active = new Map<string, ActivePage>();
  private readonly engines: Map<PageQueueName, PageEngines>;
  /** Every engine once: the queues share the reader of hybrid pages' images. */
  private readonly everyEngine: OcrEngine[];
  /** Threads kept for hybrid pages' images: the plan's, where their engine exists (Tesseract's command). */
  readonly regionThreads: number;
  private readonly lastTaken = new Map<PageQueueName, number>();
  private readonly startedAt = Date.now();

  constructor(
    private readonly plan: CapacityPlan,
    config: Config,
    log: Logger,
    hooks: {
      onRecycle: (reason: 'pages' | 'heap' | 'failure') => void;
      /** A hybrid page's images were read by a thread kept for them, or by Tesseract's command. */
      onRegionRead: (by: 'thread' | 'command') => void;
      /** Threads for those images started so far. */
      onRegionThreads: (started: number) => void;
    },
  ) {
    const { onRecycle, onRegionRead, onRegionThreads } = hooks;
    const regions =
      plan.regionThreads &&
      createRegionEngine(config, plan.regionThreads, log.child({ engine: 'regions' }), {
        onRecycle,
        onRead: onRegionRead,
        onStarted: onRegionThreads,
      });
    this.regionThreads = regions ? (plan.regionThreads?.count ?? 0) : 0;
    this.engines = new Map(
      plan.queues.map(({ queue, slots }) => [
        queue,
        { ...createPageEngines(config, queue, slots, log.child({ queue }), onRecycle), regions },
      ]),
    );
    this.everyEngine = [
      ...new Set(
        [...this.engines.values()].flatMap(({ tesseract, paddle }) => [tesseract, ...(paddle ? [paddle] : [])]),
      ),
      ...(regions ? [regions] : []),
    ];
  }

  /** Busy slots per planned queue. */
  busy(): Map<string, number> {
    const busy = new Map<string, number>(this.plan.queues.map(({ queue }) => [queue, 0]));
    for (const page of this.active.values()) busy.set(page.queue, (busy.get(page.queue) ?? 0) + 1);
    return busy;
  }

  /** Starts every engine ahead of the first page: proves the engines and `languages` work. */
  async warmUp(languages: string): Promise<void> {
    await Promise.all(this.everyEngine.map((ocr) => ocr.warmUp(languages)));
  }

  /** A handler per page queue, reading each page with its queue's engines. */
  handlers(deps: {
    metrics: WorkerMetrics;
    log: Logger;
    onEnded: PageQueueDeps['onEnded'];
    /** A page was taken from `queue`: room for the next one to be released. */
    onTaken(queue: PageQueueName): void;
    process(job: Job<PageJob>, engines: PageEngines, stop: AbortSignal): Promise<PageSummary>;
  }): Pick<Catalog, PageQueueName> {
    const handler = (queue: PageQueueName) =>
      pageHandler({
        queue,
        slots: this.plan.queues.find((planned) => planned.queue === queue)?.slots ?? 0,
        active: this.active,
        metrics: deps.metrics,
        log: deps.log,
        onTaken: () => {
          this.lastTaken.set(queue, Date.now());
          deps.onTaken(queue);
        },
        onEnded: deps.onEnded,
        process: (job, stop) => deps.process(job, this.engines.get(queue) as PageEngines, stop),
      });
    return Object.fromEntries(PAGE_QUEUE_NAMES.map((queue) => [queue, handler(queue)])) as Pick<Catalog, PageQueueName>;
  }

  /**
   * What the watchdog looks at: each queue with slots, its BullMQ worker, and a look at its free
   * slots (none while `paused`: taking nothing then is no fault of the queue's), waiting pages and
   * last page taken.
   */
  watched(workers: Worker[], paused: () => boolean, waiting: (queue: PageQueueName) => Promise<number | undefined>) {
    return this.plan.queues
      .filter(({ slots }) => slots > 0)
      .map(({ queue, slots }): WatchedQueue => ({
        queue,
        worker: workers.find((worker) => worker.name === queue) as Worker,
        look: async (): Promise<QueueLook> => ({
          freeSlots: paused() ? 0 : slots - (this.busy().get(queue) ?? 0),
          waiting: await waiting(queue),
          lastTakenAt: this.lastTaken.get(queue) ?? this.startedAt,
        }),
      }));
  }

  async close(): Promise<void> {
    await Promise.all(this.everyEngine.map((ocr) => ocr.close()));
  }
}

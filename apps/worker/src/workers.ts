import { mkdir } from 'node:fs/promises';
import type { Worker } from 'bullmq';
import {
  createRedis,
  Dispatcher,
  DocumentLedger,
  hasFreeSpace,
  HeartbeatStore,
  mebibytes,
  openBlobStore,
  probeWrites,
  QUEUES,
  replyWithin,
  queueWebhook,
  scratchDir,
  UsageStore,
  warnUnlessNoEviction,
  type Config,
  type Logger,
  type PageQueueName,
} from '@pagefleet/shared';
import { detectCapacity } from './capacity/detect.js';
import type { CapacityPlan } from './capacity/plan.js';
import {
  documentHandler,
  maintenanceHandler,
  splitHandler,
  startCatalog,
  webhookHandler,
  type Catalog,
} from './catalog.js';
import { liveness, newWorkerId, startHeartbeat, type Heartbeat } from './heartbeat.js';
import { watchLedger } from './ledger-watch.js';
import { startProbeServer } from './http.js';
import { createWorkerMetrics, type WorkerMetrics } from './metrics.js';
import { PageQueues } from './page-queues.js';
import { repeatEvery } from './repeat.js';
import { LayerWindows } from './pipeline/layer-windows.js';
import { ParsedPdfs } from './pipeline/parsed-pdfs.js';
import { OrientationDetector } from './pipeline/orientation.js';
import { createRasterizer } from './pipeline/rasterize.js';
import { startWatchdog, type Watchdog } from './watchdog.js';
import { cleanExpired } from './processors/cleanup.js';
import { processDocument } from './processors/document.js';
import { processPage } from './processors/page.js';
import { processSplit } from './processors/split.js';
import { closeWorkers, type ShutdownOutcome } from './shutdown.js';
import { deliverWebhook } from './processors/webhook.js';
import { WriteGate } from './write-gate.js';

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

/**
 * Stalls a page may have whose worker lived (Redis paused past the lock): BullMQ's own limit
 * counts them with the deaths, so it is set this much higher, and the page handler counts deaths.
 */
const PAUSED_STALLS = 5;

/**
 * How often each worker sweeps lapsed ingests and checks that Redis still holds its data: two
 * cheap commands, so that a document Redis lost is recovered within seconds.
 */
const LEDGER_WATCH_MS = 5000;

/**
 * Windows of text layers a worker keeps (see LayerWindows): enough for the documents its slots
 * read at once, each window at most a few megabytes of words.
 */
const LAYER_WINDOWS_KEPT = 4;

/**
 * How often each worker releases pages of every queue whatever happened (see Dispatcher.tick):
 * releases are made when pages are queued and taken; this catches those a death left undone.
 */
const RELEASE_TICK_MS = 2000;

/** How long /ready waits for Redis to answer. */
const PING_TIMEOUT_MS = 1000;

/** The handlers of the queues beside the pages': documents, webhooks, splits, maintenance. */
function documentQueueHandlers(deps: {
  config: Config;
  ledger: DocumentLedger;
  dispatch: Dispatcher;
  metrics: WorkerMetrics;
  log: Logger;
}): Omit<Catalog, PageQueueName> {
  const { config, ledger, dispatch, metrics, log } = deps;
  const common = { ledger, scratchDir: scratchDir(config.DATA_DIR), log };
  return {
    [QUEUES.documents]: documentHandler(
      (job) =>
        processDocument(job, {
          ...common,
          pdfTimeoutMs: config.PAGE_TIMEOUT_MS,
          queueWebhook: (documentId) => queueWebhook(dispatch, ledger, documentId),
        }),
      metrics,
      log,
    ),
    [QUEUES.webhooks]: webhookHandler(
      (job) =>
        deliverWebhook(job, {
          ledger,
          secret: config.WEBHOOK_SECRET,
          allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
        }),
      metrics,
      log,
    ),
    [QUEUES.splits]: splitHandler(
      (job) =>
        processSplit(job, {
          ...common,
          dispatch,
          timeoutMs: config.PAGE_TIMEOUT_MS,
        }),
      metrics,
      log,
    ),
    [QUEUES.maintenance]: maintenanceHandler(
      () => cleanExpired({ ledger, dispatch, ttlSeconds: config.RESULT_TTL }),
      log,
    ),
  };
}

function logPlan(capacity: CapacityPlan, log: Logger): void {
  log.info(
    {
      budgetMiB: mebibytes(capacity.budgetBytes),
      budgetSource: capacity.budgetSource,
      cpus: capacity.cpus,
      concurrencySource: capacity.concurrencySource,
      queues: Object.fromEntries(
        capacity.queues.map(({ queue, slots, slotBytes }) => [queue, { slots, slotMiB: mebibytes(slotBytes) }]),
      ),
      regionThreads: capacity.regionThreads?.count ?? 0,
    },
    'capacity planned',
  );
}

/** A worker process's whole machinery, wired from the config and sized by its capacity plan. */
export async function runWorker(config: Config, log: Logger, plan?: CapacityPlan): Promise<RunningWorker> {
  const capacity = plan ?? (await detectCapacity(config));
  logPlan(capacity, log);

  const pages: PageQueues = new PageQueues(capacity, config, log, {
    onRecycle: (reason) => metrics.recycles.inc({ reason }),
    onRegionRead: (by) => metrics.imageRegions.inc({ by }),
    onRegionThreads: (started) => metrics.regionThreads.set({ state: 'started' }, started),
  });
  const metrics = createWorkerMetrics(() => pages.busy());
  metrics.memoryBudget.set(capacity.budgetBytes);
  metrics.regionThreads.set({ state: 'planned' }, pages.regionThreads);
  metrics.regionThreads.set({ state: 'started' }, 0);

  // Pages are copied and rendered under DATA_DIR: /ready watches the free space there.
  await mkdir(config.DATA_DIR, { recursive: true });
  const redis = createRedis(config, { kind: 'consumer' }, log);
  redis.once('ready', () => void warnUnlessNoEviction(redis, log));
  const blobs = await openBlobStore(config);
  const dispatch = new Dispatcher(config, redis, log);
  const heartbeats = new HeartbeatStore(redis, config.QUEUE_PREFIX, config.HEARTBEAT_INTERVAL_MS);
  const usage = new UsageStore(redis, config.QUEUE_PREFIX);
  // Set once they have started: the gate pauses and resumes them, and beats before they resume.
  let workers: Worker[] = [];
  let heartbeat: Heartbeat | undefined;
  const gate = new WriteGate({
    redis,
    probeKey: `${config.QUEUE_PREFIX}:probe`,
    onClose: () => {
      for (const worker of workers) void worker.pause(true);
    },
    onOpen: async () => {
      await heartbeats.writesReturned().catch(() => undefined);
      await heartbeat?.beat();
      for (const worker of workers) void worker.resume();
    },
    onRefused: () => metrics.redisRefusals.inc(),
    log,
  });
  const ledger = new DocumentLedger(redis, blobs, {
    prefix: config.QUEUE_PREFIX,
    ttlSeconds: config.RESULT_TTL,
    ingestLeaseMs: config.INGEST_LEASE_MS,
    restart: (job) => dispatch.requeueDocument(job),
    writes: (fn) => gate.through(fn),
  });
  // One detector for every queue: few pages need it.
  const orientation = config.AUTO_ROTATE ? new OrientationDetector() : undefined;
  // Ready once one thread per pool has started: the engine and its language data work.
  let ocrReady = false;
  pages.warmUp(config.DEFAULT_LANGUAGES).then(
    () => (ocrReady = true),
    (err: unknown) => log.error({ err }, 'the OCR engine did not start; this worker is not ready'),
  );
  // Started once the BullMQ workers are; /ready reads it from the start.
  let watchdog: Watchdog | undefined;
  const probes = await startProbeServer({
    host: config.HOST,
    port: config.WORKER_PORT,
    registry: metrics.registry,
    checks: async () => ({
      redis: await probeWrites(redis, `${config.QUEUE_PREFIX}:probe`, PING_TIMEOUT_MS),
      ocr: ocrReady,
      disk: await hasFreeSpace(config.DATA_DIR, config.MIN_FREE_DISK),
      fetching: watchdog?.healthy() ?? true,
    }),
    log,
  });
  log.info({ port: probes.port }, 'worker metrics and probes listening');

  const workerId = newWorkerId();
  const common = { ledger, scratchDir: scratchDir(config.DATA_DIR), log };
  const pipeline = {
    rasterizer: createRasterizer(config.RASTERIZER),
    layers: new LayerWindows(config.TEXT_LAYER_WINDOW, LAYER_WINDOWS_KEPT),
    pdfs: new ParsedPdfs(),
    onVerdict: (verdict: { reason: string }) => metrics.textLayers.inc({ verdict: verdict.reason }),
    orientation,
    maxPixels: config.MAX_PAGE_PIXELS,
    timeoutMs: config.PAGE_TIMEOUT_MS,
    liveness: liveness(heartbeats, workerId, config.LOCK_DURATION_MS, config.MAX_STALLED_COUNT),
  };
  await dispatch.scheduleCleanup();
  const catalog: Catalog = {
    ...pages.handlers({
      metrics,
      log,
      process: (job, engines, stop) => processPage(job, { ...common, ...pipeline, engines }, stop),
      onTaken: (queue) =>
        void dispatch.release(queue).catch((err: unknown) => log.warn({ err, queue }, 'pages not released')),
      onEnded: (job, seconds, summary) => {
        const { tenant } = job.data;
        metrics.tenantSeconds.inc({ tenant }, seconds);
        if (summary) metrics.tenantPages.inc({ tenant, method: summary.method, engine: summary.engine ?? 'none' });
        usage
          .record(tenant, seconds, summary && { method: summary.method, engine: summary.engine })
          .catch((err: unknown) => log.warn({ err, tenant }, 'usage not recorded'));
      },
    }),
    ...documentQueueHandlers({ config, ledger, dispatch, metrics, log }),
  };
  workers = startCatalog(
    catalog,
    {
      connection: redis,
      prefix: config.QUEUE_PREFIX,
      lockDuration: config.LOCK_DURATION_MS,
      stalledInterval: config.STALLED_INTERVAL_MS,
      maxStalledCount: config.MAX_STALLED_COUNT + PAUSED_STALLS,
    },
    gate,
    log,
  );
  const releases = repeatEvery(RELEASE_TICK_MS, () =>
    dispatch.tick().catch((err: unknown) => log.warn({ err }, 'page release failed; trying again')),
  );
  const watch = watchLedger({
    ledger,
    intervalMs: LEDGER_WATCH_MS,
    onForgotten: () => dispatch.scheduleCleanup(),
    log,
  });
  watchdog =
    config.WORKER_WATCHDOG_MS > 0
      ? startWatchdog({
          // Paused while Redis refuses writes.
          queues: pages.watched(
            workers,
            () => !gate.open,
            (queue) => replyWithin(dispatch.waitingIn(queue), PING_TIMEOUT_MS),
          ),
          idleMs: config.WORKER_WATCHDOG_MS,
          onAction: (name, action) => metrics.watchdog.inc({ queue: name, action }),
          log,
        })
      : undefined;
  heartbeat = startHeartbeat({
    id: workerId,
    store: heartbeats,
    intervalMs: config.HEARTBEAT_INTERVAL_MS,
    memoryBudgetBytes: capacity.budgetBytes,
    snapshot: async () => {
      const busy = pages.busy();
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
  return {
    id: workerId,
    port: probes.port,
    async close(graceMs) {
      watchdog?.stop();
      releases.stop();
      watch.stop();
      gate.stop();
      await heartbeat?.stop();
      const outcome = await closeWorkers(workers, pages.active, graceMs, log);
      await Promise.all([pages.close(), orientation?.close()]);
      await dispatch.close();
      await probes.close();
      await redis.quit().catch(() => undefined);
      return outcome;
    },
  };
}

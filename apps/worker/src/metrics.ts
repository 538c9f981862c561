import { Counter, createRegistry, Gauge, Histogram, PAGE_SECONDS_BUCKETS, type Registry } from '@pagefleet/shared';

export type PageOutcome = 'completed' | 'failed' | 'retried' | 'canceled';
export type RecycleReason = 'pages' | 'heap' | 'failure';

/** Pixels of a page as recognized: a receipt, a letter page at 150 / 300 / 600 DPI, a poster. */
const PIXEL_BUCKETS = [
  250_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000, 12_000_000, 20_000_000, 40_000_000, 100_000_000,
];

const CONFIDENCE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1];

export interface WorkerMetrics {
  registry: Registry;
  pages: Counter<'queue' | 'outcome'>;
  attempts: Counter<'queue'>;
  pageDuration: Histogram<'queue'>;
  stageDuration: Histogram<'stage'>;
  methods: Counter<'method'>;
  engines: Counter<'engine' | 'asked'>;
  tenantPages: Counter<'tenant' | 'method' | 'engine'>;
  tenantSeconds: Counter<'tenant'>;
  fetchedBytes: Counter;
  splits: Counter<'outcome'>;
  textLayers: Counter<'verdict'>;
  confidence: Histogram;
  pixels: Histogram;
  timeouts: Counter<'stage'>;
  oom: Counter;
  stalled: Counter<'queue'>;
  recycles: Counter<'reason'>;
  imageRegions: Counter<'by'>;
  regionThreads: Gauge<'state'>;
  watchdog: Counter<'queue' | 'action'>;
  slots: Gauge<'queue'>;
  busySlots: Gauge<'queue'>;
  memoryBudget: Gauge;
  documents: Counter<'status'>;
  webhooks: Counter<'outcome'>;
  redisRefusals: Counter;
}

/** One registry per worker process; `busy` is read at scrape time from the pages in progress. */
export function createWorkerMetrics(busy: () => Map<string, number>): WorkerMetrics {
  const registry = createRegistry();
  const registers = [registry];
  return {
    registry,
    pages: new Counter({
      name: 'pagefleet_pages_processed_total',
      help: 'Page attempts ended, by queue and outcome: completed, failed (given up), retried (will run again) or canceled.',
      labelNames: ['queue', 'outcome'],
      registers,
    }),
    redisRefusals: new Counter({
      name: 'pagefleet_redis_write_refusals_total',
      help: 'Writes Redis refused (full under noeviction, read-only, failing its disk, loading): each closes the write gate, and work waits instead of failing.',
      registers,
    }),
    watchdog: new Counter({
      name: 'pagefleet_watchdog_actions_total',
      help: 'What the fetch watchdog did about a page queue this worker took nothing from while pages waited: reconnect (its BullMQ worker), or unready (reconnecting did not help: /ready fails).',
      labelNames: ['queue', 'action'],
      registers,
    }),
    attempts: new Counter({
      name: 'pagefleet_page_attempts_total',
      help: 'Page attempts started, first runs and retries alike.',
      labelNames: ['queue'],
      registers,
    }),
    pageDuration: new Histogram({
      name: 'pagefleet_page_duration_seconds',
      help: 'Time of a completed page attempt, all stages together.',
      labelNames: ['queue'],
      buckets: PAGE_SECONDS_BUCKETS,
      registers,
    }),
    stageDuration: new Histogram({
      name: 'pagefleet_page_stage_duration_seconds',
      help: "Time of each stage of a completed page: extract (a PDF page's text layer read and judged), rasterize, preprocess, ocr, rotate (pages checked for orientation), preview (outputs=image), store.",
      labelNames: ['stage'],
      buckets: PAGE_SECONDS_BUCKETS,
      registers,
    }),
    confidence: new Histogram({
      name: 'pagefleet_ocr_confidence_ratio',
      help: "Tesseract's mean word confidence of a completed page, from 0 to 1.",
      buckets: CONFIDENCE_BUCKETS,
      registers,
    }),
    pixels: new Histogram({
      name: 'pagefleet_page_pixels',
      help: 'Pixels of a completed page as recognized, after any downscale.',
      buckets: PIXEL_BUCKETS,
      registers,
    }),
    engines: new Counter({
      name: 'pagefleet_pages_by_engine_total',
      help: 'OCRed pages completed, by the engine that read them and the engine the submission asked for (auto: chosen per page).',
      labelNames: ['engine', 'asked'],
      registers,
    }),
    methods: new Counter({
      name: 'pagefleet_pages_by_method_total',
      help: "Pages completed, by how they were read: text (from the PDF's own text layer), ocr, or text+ocr (the layer, and the text inside its images OCRed).",
      labelNames: ['method'],
      registers,
    }),
    tenantPages: new Counter({
      name: 'pagefleet_tenant_pages_total',
      help: 'Pages completed per tenant (its configured name, never a key; default where keys are not in use), by how they were read and the engine that OCRed them (none for text pages).',
      labelNames: ['tenant', 'method', 'engine'],
      registers,
    }),
    tenantSeconds: new Counter({
      name: 'pagefleet_tenant_worker_seconds_total',
      help: "Seconds worker slots spent on each tenant's pages, every attempt counted, failed ones too.",
      labelNames: ['tenant'],
      registers,
    }),
    fetchedBytes: new Counter({
      name: 'pagefleet_page_input_fetched_bytes_total',
      help: 'Bytes copied from object storage to local disk for the pages read (0 with STORAGE=filesystem: files are read in place).',
      registers,
    }),
    splits: new Counter({
      name: 'pagefleet_pdf_splits_total',
      help: 'PDFs split into one-page PDFs before their pages were queued (STORAGE=s3), by outcome: split, or whole (qpdf could not split it: its pages read the whole file).',
      labelNames: ['outcome'],
      registers,
    }),
    textLayers: new Counter({
      name: 'pagefleet_text_layer_verdicts_total',
      help: 'PDF pages whose text layer was judged, by verdict: born-digital, ocr-layer and hybrid are read from it (a hybrid page has its images OCRed too); no-text, undecodable, not-words, wrong-letters and too-little-for-a-scan are OCRed.',
      labelNames: ['verdict'],
      registers,
    }),
    timeouts: new Counter({
      name: 'pagefleet_page_timeouts_total',
      help: 'Page attempts stopped at PAGE_TIMEOUT_MS, by the stage they were in.',
      labelNames: ['stage'],
      registers,
    }),
    oom: new Counter({
      name: 'pagefleet_pages_oom_total',
      help: 'Pages given up because their worker died on every attempt (killed, most likely out of memory).',
      registers,
    }),
    stalled: new Counter({
      name: 'pagefleet_pages_stalled_total',
      help: 'Pages whose worker died mid-page, found by this worker and queued again.',
      labelNames: ['queue'],
      registers,
    }),
    recycles: new Counter({
      name: 'pagefleet_tesseract_recycles_total',
      help: 'Tesseract threads replaced, by reason: pages (OCR_MAX_PAGES), heap (OCR_MAX_HEAP) or failure (a page failed or timed out in it).',
      labelNames: ['reason'],
      registers,
    }),
    imageRegions: new Counter({
      name: 'pagefleet_image_regions_read_total',
      help: "Hybrid pages' images OCRed where pages are read by Tesseract's command, by what read them: thread (a warm tesseract.js thread, planned by memory) or command (every thread busy, the image past their pixels, or none planned).",
      labelNames: ['by'],
      registers,
    }),
    regionThreads: new Gauge({
      name: 'pagefleet_image_region_threads',
      help: "Threads kept for hybrid pages' images: planned (by memory), and started (they start beside the worker's first pages; until one has, the command reads every image).",
      labelNames: ['state'],
      registers,
    }),
    slots: new Gauge({
      name: 'pagefleet_worker_slots',
      help: 'Page slots of this worker, by queue.',
      labelNames: ['queue'],
      registers,
    }),
    busySlots: new Gauge({
      name: 'pagefleet_worker_busy_slots',
      help: 'Page slots of this worker processing a page now, by queue.',
      labelNames: ['queue'],
      registers,
      collect() {
        for (const [queue, count] of busy()) this.set({ queue }, count);
      },
    }),
    memoryBudget: new Gauge({
      name: 'pagefleet_worker_memory_budget_bytes',
      help: 'Memory budget the worker sized its slots for (WORKER_MEMORY_TIER, the cgroup limit or the machine).',
      registers,
    }),
    documents: new Counter({
      name: 'pagefleet_documents_finished_total',
      help: 'Documents finished by this worker, by final status: completed, partial or failed.',
      labelNames: ['status'],
      registers,
    }),
    webhooks: new Counter({
      name: 'pagefleet_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome: delivered, retried (will try again) or failed (given up).',
      labelNames: ['outcome'],
      registers,
    }),
  };
}

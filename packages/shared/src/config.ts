import path from 'node:path';
import { MIN_DPI } from '@pagefleet/contract';
import { z } from 'zod';
import { parseByteSize } from './bytes.js';
import { OCR_MODELS } from './languages.js';
import { PAGE_QUEUE_NAMES, type PageQueueName } from './queues.js';

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

const byteSize = z.string().transform((text, ctx) => {
  const bytes = parseByteSize(text);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a memory size such as 512Mi, 2Gi or 800M` });
    return z.NEVER;
  }
  return bytes;
});

/** The entries of a comma-separated list, trimmed, without blanks or repeats. */
const commaList = (text: string) => [
  ...new Set(
    text
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean),
  ),
];

const pageQueues = z.string().transform((text, ctx) => {
  const names = commaList(text);
  const unknown = names.filter((name) => !(PAGE_QUEUE_NAMES as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) {
    ctx.addIssue({ code: 'custom', message: `"${text}" must list some of ${PAGE_QUEUE_NAMES.join(', ')}` });
    return z.NEVER;
  }
  return names as PageQueueName[];
});

/** A bearer key: 16 or more printable characters, no spaces. */
const apiKey = z
  .string()
  .min(16)
  .regex(/^[\x21-\x7e]+$/, 'must be printable characters without spaces');

const apiKeys = z.string().transform((text, ctx) => {
  const keys = commaList(text);
  if (keys.length === 0 || keys.some((key) => !apiKey.safeParse(key).success)) {
    ctx.addIssue({ code: 'custom', message: 'must list keys of at least 16 printable characters, comma-separated' });
    return z.NEVER;
  }
  return keys;
});

/** One tenant of TENANTS: its name (metrics, usage, ownership), its keys, its limits. */
const tenantEntry = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'lower-case letters, digits, `.`, `_`, `-`; 63 at most'),
  keys: z.array(apiKey).min(1),
  documentsPerMinute: z.number().int().min(1).max(1_000_000).optional(),
  maxQueuedPages: z.number().int().min(1).max(100_000_000).optional(),
  maxInteractivePages: z.number().int().min(1).max(1_000_000).optional(),
  weight: z.number().min(0.01).max(100).optional(),
});
export type TenantEntry = z.infer<typeof tenantEntry>;

const tenantList = z.string().transform((text, ctx) => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON array of tenants' });
    return z.NEVER;
  }
  const parsed = z.array(tenantEntry).min(1).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    ctx.addIssue({ code: 'custom', message: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` });
    return z.NEVER;
  }
  return parsed.data;
});

/** One `host:port` (`[v6]:port` for an IPv6 address), or undefined. */
function hostPort(entry: string): { host: string; port: number } | undefined {
  const groups = /^(?:\[(?<v6>[0-9A-Fa-f:.]+)\]|(?<name>[A-Za-z0-9.-]+)):(?<port>\d{1,5})$/.exec(entry)?.groups;
  const port = Number(groups?.port);
  const host = groups?.v6 ?? groups?.name;
  return host && port >= 1 && port <= 65535 ? { host, port } : undefined;
}

/** `host:port` pairs, comma-separated: sentinels or cluster nodes. */
const hostPorts = z.string().transform((text, ctx) => {
  const nodes = commaList(text).map(hostPort);
  if (nodes.length === 0 || nodes.includes(undefined)) {
    ctx.addIssue({ code: 'custom', message: `"${text}" must list host:port pairs, comma-separated` });
    return z.NEVER;
  }
  return nodes as Array<{ host: string; port: number }>;
});

/** A boolean variable: `true` or `1` turn it on, `false` or `0` off; unset, `on` says. */
const flag = (on = false) =>
  z
    .enum(['true', '1', 'false', '0'])
    .default(on ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1');

/** Every variable, with its type, default and meaning: docs/configuration.md is generated from it. */
export const CONFIG_SCHEMA = z.object({
  // Where queues and document state live. One Redis serves the API and every worker: a single
  // server (REDIS_URL), a Sentinel group, or a cluster; exactly one form.
  REDIS_URL: z
    .url({ protocol: /^rediss?$/ })
    .optional()
    .describe(
      'A single Redis for queues and document status (`rediss://` for TLS; user and password in the URL). Unset, and no Sentinel or cluster given: `redis://127.0.0.1:6379`, and `npm start` starts its own. Redis must use `maxmemory-policy noeviction`.',
    ),
  REDIS_SENTINELS: hostPorts
    .optional()
    .describe(
      'Sentinels to ask for the current primary, `host:port` comma-separated (instead of `REDIS_URL`); needs `REDIS_SENTINEL_MASTER`.',
    ),
  REDIS_SENTINEL_MASTER: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/)
    .optional()
    .describe('The name the sentinels monitor the primary under (`sentinel monitor <name> …`).'),
  REDIS_SENTINEL_PASSWORD: z
    .string()
    .min(1)
    .optional()
    .describe("The sentinels' own password (their `requirepass`), when they have one."),
  REDIS_CLUSTER_NODES: hostPorts
    .optional()
    .describe(
      'Some nodes of a Redis Cluster, `host:port` comma-separated (instead of `REDIS_URL`); the rest are discovered. Every key then carries the hash tag `{QUEUE_PREFIX}`, so that it lives in one slot.',
    ),
  // A URL carries its own credentials and scheme; the other two forms name only hosts.
  REDIS_USERNAME: z
    .string()
    .min(1)
    .optional()
    .describe('With `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES`: the ACL user of the Redis servers.'),
  REDIS_PASSWORD: z
    .string()
    .min(1)
    .optional()
    .describe('With `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES`: the password of the Redis servers.'),
  REDIS_TLS: flag().describe(
    "With `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES`: `true` speaks TLS to the Redis servers (and sentinels), as managed services' in-transit encryption needs.",
  ),
  // A paused Redis (SIGSTOP, a long fork, a network black hole) keeps its connections open: without a
  // bound, every request that touches it waits until the client gives up.
  REDIS_COMMAND_TIMEOUT_MS: int(100, 60_000, 2000).describe(
    "API only: how long a Redis command may take before the request answers 503 (finished jobs are then read from storage). Workers wait: a worker's commands are retried, not abandoned.",
  ),
  // Prefix of every Redis key pagefleet writes; tests use a fresh one each.
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .default('pagefleet')
    .describe(
      'Prefix of every Redis key pagefleet writes; with `REDIS_CLUSTER_NODES` it is wrapped in braces (`{pagefleet}`), a hash tag that puts every key in one slot.',
    ),
  // Local disk: uploads being received, a worker's copy of the page it reads; with
  // STORAGE=filesystem also every stored document, so then shared by the API and the workers.
  DATA_DIR: z
    .string()
    .min(1)
    .default('data')
    .transform((dir) => path.resolve(dir))
    .describe(
      'Uploads being received and the pages workers are reading; with `STORAGE=filesystem` also every document stored, shared by the API and every worker.',
    ),
  // Where documents are kept: a folder every process shares, or a bucket (no shared disk).
  STORAGE: z
    .enum(['filesystem', 's3'])
    .default('filesystem')
    .describe(
      '`filesystem`: documents under `DATA_DIR` (one host, or a shared volume). `s3`: in `S3_BUCKET`; API and workers share nothing but Redis and the bucket.',
    ),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name (3-63 lowercase letters, digits, . and -)')
    .optional()
    .describe('The bucket documents are kept in; required with `STORAGE=s3`. Credentials come from the AWS SDK chain.'),
  S3_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9][A-Za-z0-9._-]*\/)*[A-Za-z0-9._-]*$/, 'must be key names separated by /')
    .default('')
    .describe('Put before every key, so that deployments can share a bucket (`pagefleet/`).'),
  S3_ENDPOINT: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('An S3-compatible server (SeaweedFS, Garage, Ceph RGW); unset, AWS S3 in `S3_REGION`.'),
  S3_REGION: z
    .string()
    .min(1)
    .default('us-east-1')
    .describe('Region of the bucket (any value for most S3-compatible servers).'),
  // Most S3-compatible servers have no per-bucket host names.
  S3_FORCE_PATH_STYLE: flag().describe(
    '`true` puts the bucket in the path (`host/bucket/key`): what S3-compatible servers need.',
  ),
  HOST: z.string().min(1).default('0.0.0.0').describe('API listen address.'),
  PORT: int(0, 65535, 3000).describe('API port.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino level: `fatal` … `trace`, or `silent`.'),
  // JSON lines for collectors; `auto` prints readable lines instead when stdout is a terminal.
  LOG_FORMAT: z
    .enum(['auto', 'json', 'pretty'])
    .default('auto')
    .describe('`json` (one line per event), `pretty` (readable), or `auto`: pretty when stdout is a terminal.'),
  // The worker's own HTTP server (/metrics, /health, /ready); 0 picks a free port (several on a host).
  WORKER_PORT: int(0, 65535, 3001).describe(
    "Worker's `/metrics`, `/health` and `/ready` (on `HOST`); `0` picks a free port (logged).",
  ),
  // Workers write a heartbeat this often; one silent for three intervals is no longer listed.
  // At most a third of LOCK_DURATION_MS: a stalled page's worker is dead when its beat is older than half a lock.
  HEARTBEAT_INTERVAL_MS: int(500, 600_000, 2000).describe(
    'How often a worker writes its heartbeat; silent for three intervals, it leaves `GET /v1/workers`.',
  ),
  // Comment lines on an idle event stream, so that proxies do not close it (most cut at 30-60 s).
  SSE_HEARTBEAT_MS: int(100, 600_000, 15_000).describe(
    'Comment lines on idle event streams, so that proxies keep them open.',
  ),
  // The BullMQ dashboard at /admin/queues; behind API_KEYS when they are set.
  ADMIN_DASHBOARD: flag().describe('`true` serves the queue dashboard at `/admin/queues` (behind `ADMIN_API_KEYS`).'),

  // Submission limits: what one request may ask of the service.
  MAX_FILE_BYTES: int(1, Number.MAX_SAFE_INTEGER, 100 * 1024 * 1024).describe('Largest file accepted (`413` beyond).'),
  // Below this, uploads would fail half-way and pages could not be stored: refuse them up front.
  MIN_FREE_DISK: byteSize
    .prefault('256Mi')
    .describe(
      'Free space `DATA_DIR` must keep (`256Mi`, `1Gi`, …): below it `/ready` answers 503 (API and worker) and uploads `507`.',
    ),
  MAX_FILES: int(1, 1000, 20).describe('Files per submission (`413` beyond).'),
  MAX_PAGES: int(1, 100_000, 1000).describe('Pages per document (`422` beyond).'),
  DEFAULT_DPI: int(MIN_DPI, 2400, 200).describe(
    'PDF render resolution when the client does not ask: as accurate as 300 on scans and on text down to 6 points, a fifth faster ([benchmarks](benchmarks.md)).',
  ),
  // 600 DPI is the most any OCR engine benefits from; more only costs memory.
  MAX_DPI: int(MIN_DPI, 2400, 600).describe('Highest `dpi` a client may ask for.'),
  DEFAULT_LANGUAGES: z
    .string()
    .regex(/^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$/)
    .default('eng')
    .describe('Tesseract languages when the client does not ask (`eng+deu` form).'),
  // Milliseconds pdfinfo may take to count pages before the upload is rejected.
  PDFINFO_TIMEOUT_MS: int(100, 600_000, 15_000).describe(
    "Time `pdfinfo` may take to count a PDF's pages before it is refused.",
  ),
  // Uploads one API process receives at once; more get 503 with Retry-After.
  MAX_CONCURRENT_UPLOADS: int(1, 10_000, 64).describe('Uploads one API process receives at once (`503` beyond).'),
  // So that one client (a key, else an address) cannot take every upload slot.
  UPLOADS_PER_CLIENT: int(1, 10_000, 8).describe(
    'Uploads one client receives at once, per API key, else per address (`429` beyond).',
  ),
  // Slow uploads hold a slot each: one that crawls is cut, and every upload has a deadline.
  UPLOAD_MIN_BYTES_PER_SECOND: int(0, 1_000_000_000, 4096).describe(
    'An upload that sends less than this over `UPLOAD_GRACE_MS` is cut with `408` and its file removed; 0 turns the check off.',
  ),
  UPLOAD_GRACE_MS: int(1000, 3_600_000, 10_000).describe(
    'The window over which an upload must keep `UPLOAD_MIN_BYTES_PER_SECOND`, from its start.',
  ),
  UPLOAD_TIMEOUT_MS: int(1000, 86_400_000, 900_000).describe(
    'The longest an upload may take, whatever its pace (`408` beyond).',
  ),
  // A document being ingested holds a lease its API renews a third of the way through: an API
  // killed mid-ingest is found out this long after, its document removed and its Idempotency-Key freed.
  INGEST_LEASE_MS: int(1000, 600_000, 15_000).describe(
    'How long an ingest (and its `Idempotency-Key`) outlives an API that died in the middle of it before it is removed and the key freed for a retry; a live API renews it.',
  ),
  // Behind a reverse proxy every client has the proxy's address.
  TRUST_PROXY: flag().describe(
    '`true` takes the client address from `X-Forwarded-For` (set it behind a reverse proxy that sets it, never otherwise): per-address limits then count clients, not the proxy.',
  ),
  // Pages waiting in the queues past which submissions get 429 with Retry-After.
  MAX_QUEUED_PAGES: int(1, 100_000_000, 100_000).describe(
    'Pages waiting for a worker past which submissions get `429`.',
  ),
  // Pages predicted to render above this many pixels go to the pages-large queue.
  LARGE_PAGE_PIXELS: int(1_000_000, 500_000_000, 12_000_000).describe(
    'Pages predicted above this many pixels go to the `pages-large` queue.',
  ),

  // Worker memory: a tier such as 1Gi; unset, the container's limit (cgroup) or the machine's memory.
  WORKER_MEMORY_TIER: byteSize
    .optional()
    .describe("Worker memory budget (`512Mi`, `1Gi`, `2Gi`, …); unset, the cgroup limit, else the machine's memory."),
  // Page slots; unset, derived from the memory budget and the CPUs.
  WORKER_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(256)
    .optional()
    .describe('Page slots of the `pages` queue; unset, `min(CPUs, floor((budget − base) / perSlot))`.'),
  // Page queues this worker takes; unset, pages-large is added when the budget affords a large slot.
  WORKER_QUEUES: pageQueues
    .optional()
    .describe(
      '`pages`, `pages-large`, `pages-paddle`, comma-separated; unset, `pages-large` is added when the budget affords a large slot, and `pages-paddle` when it affords a PaddleOCR slot besides (and its models are installed).',
    ),
  PADDLE_THREADS: int(1, 64, 1).describe(
    "Threads each PaddleOCR inference uses (ONNX Runtime's intra-op threads); the slots already share the CPUs.",
  ),
  PADDLE_DETECTION_SIDE: int(320, 4096, 1280).describe(
    "Longest side, in pixels, of the page as PaddleOCR's detection sees it: larger finds smaller print, at more time and memory.",
  ),
  PADDLE_BATCH: int(1, 256, 1).describe(
    'Line crops PaddleOCR recognizes per inference. On the CPU one at a time is fastest (batches pad every line to the widest: 1.7 s against 3.5 s on a receipt); with a GPU provider, batches of 16–32 keep it busy.',
  ),
  PADDLE_PROVIDERS: z
    .string()
    .default('cpu')
    .transform(commaList)
    .describe(
      'ONNX Runtime execution providers for PaddleOCR, in order of preference (`cuda,cpu` where the operator installed a GPU build of onnxruntime-node).',
    ),
  // A tesseract thread is replaced after this many pages, or once its heap passes OCR_MAX_HEAP.
  OCR_MAX_PAGES: int(1, 1_000_000, 200).describe(
    "Pages a tesseract.js thread does before it is replaced: `OCR_ENGINE=tesseract.js`'s, and with `native` the threads that read hybrid pages' images.",
  ),
  OCR_MAX_HEAP: byteSize
    .prefault('160Mi')
    .describe(
      "Heap past which a tesseract.js thread is replaced after its page: `OCR_ENGINE=tesseract.js`'s, and with `native` the threads that read hybrid pages' images.",
    ),
  RASTERIZER: z
    .enum(['poppler', 'pdf2pic'])
    .default('poppler')
    .describe('`poppler` (`pdftoppm`) or `pdf2pic` (GraphicsMagick + Ghostscript).'),
  TEXT_LAYER_WINDOW: int(1, 1000, 16).describe(
    "PDF pages whose text layers a worker reads in one pass (three poppler children, each parsing the file once), kept in memory for the window's other pages; 1 reads page by page. Pages split into one-page PDFs (object storage) are read alone. See [text-layer.md](text-layer.md).",
  ),
  // A page's whole attempt (rasterize, preprocess, OCR); past it the stage's child or thread is killed.
  PAGE_TIMEOUT_MS: int(1000, 3_600_000, 300_000).describe(
    'Time one attempt at a page may take, all stages together; past it the rasterizer or `tesseract` child is killed, or the tesseract.js thread terminated and replaced, and the attempt fails naming the stage.',
  ),
  // BullMQ's lock on an active page: renewed every half of it while the worker lives. A killed
  // worker's pages are found by the stall check within LOCK_DURATION_MS + STALLED_INTERVAL_MS.
  // 8 s and 4 s (bench:recovery, docs/recovery.md): a dead worker's page ran again after 7.2 s
  // (median; 8.9 s at most) for 222 Redis commands/s with 50 busy workers, against 48.7 s and 70
  // commands/s with BullMQ's 30 s and 30 s. 10 s and 5 s (12.7 s at most) left too little margin:
  // a worker killed just after taking a page had it run again 13-15 s later. Shorter locks also
  // make shorter Redis pauses stall every active page.
  LOCK_DURATION_MS: int(1000, 3_600_000, 8000).describe(
    'BullMQ lock on an active page, renewed every half of it while its worker lives.',
  ),
  STALLED_INTERVAL_MS: int(500, 3_600_000, 4000).describe(
    "How often workers look for pages whose lock expired (their worker died). A dead worker's page runs again within about `LOCK_DURATION_MS + STALLED_INTERVAL_MS`.",
  ),
  // Deaths of its worker a page survives (each retry at half the DPI) before it fails as `oom`.
  MAX_STALLED_COUNT: int(0, 100, 2).describe(
    'Deaths of its worker a page survives, each retry at half the DPI (and a quarter of the pixel cap), before it fails with reason `oom`.',
  ),
  // BullMQ workers can keep running yet take nothing after a failover (taskforcesh/bullmq #3088,
  // #4378, #648); BullMQ resets a blocking read silent past its own timeout, this is the net beneath.
  WORKER_WATCHDOG_MS: int(0, 3_600_000, 60_000).describe(
    'A worker with a free slot that takes no page for this long while pages wait reconnects its queue; as long again without a page, its `/ready` fails (`pagefleet_watchdog_actions_total`). 0 turns it off.',
  ),
  // On SIGTERM: how long active pages (worker) and requests (API) get to finish.
  SHUTDOWN_GRACE_MS: int(0, 3_600_000, 30_000).describe(
    'On SIGTERM: time active pages (worker) or requests (API) get to finish.',
  ),
  // Extra traineddata (e.g. Debian's /usr/share/tesseract-ocr/5/tessdata), searched before npm packages.
  TESSDATA_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Folder of extra `<lang>.traineddata[.gz]` files (e.g. Debian's `/usr/share/tesseract-ocr/5/tessdata`), searched first whatever `OCR_MODEL` says.",
    ),
  // fast: tessdata_fast models (Debian's tesseract-ocr-<lang>), best_int where none is installed.
  OCR_MODEL: z
    .enum(OCR_MODELS)
    .default('fast')
    .describe(
      "`fast`: tessdata_fast models from Debian's `tesseract-ocr-<lang>` packages (in `/usr/share/tesseract-ocr/5/tessdata`), falling back to `best_int` for a language with none installed (the worker logs which file each default language uses); `best_int`: the `@tesseract.js-data/<lang>` npm packages. Why fast: [benchmarks](benchmarks.md).",
    ),
  // native (Tesseract's command, a child process per page) or tesseract.js (WebAssembly, in worker threads).
  OCR_ENGINE: z
    .enum(['native', 'tesseract.js'])
    .default('native')
    .describe(
      "`native`: Tesseract's own command (Debian's `tesseract-ocr`), a child process per page, killed at the page's deadline; `tesseract.js`: Tesseract compiled to WebAssembly in a worker thread per slot (the card's engine). `native` reads 1.25–1.5 times as many pages per minute on the same CPUs ([benchmarks](benchmarks.md)); where the command is missing the worker reads with tesseract.js and logs it. `DESKEW` applies to tesseract.js only; `OCR_MAX_PAGES` and `OCR_MAX_HEAP` to tesseract.js threads, which with `native` read hybrid pages' images where the memory plan has room ([text layers](text-layer.md#hybrid-pages-read-the-layer-ocr-the-images)).",
    ),
  // Unset, on where the engine can do it: tesseract.js reads 0.063 CER with it against 0.072
  // without on bench:defaults' pages; Tesseract's command has no such step, so there it is off and
  // DESKEW=true is refused rather than silently ignored.
  DESKEW: z
    .enum(['true', '1', 'false', '0'])
    .optional()
    .transform((value) => (value === undefined ? undefined : value === 'true' || value === '1'))
    .describe(
      'Straighten slightly skewed pages before reading them (tesseract.js `rotateAuto`). Unset: on with `OCR_ENGINE=tesseract.js`, off with `native`, whose command has no such step (`true` with `native` is refused).',
    ),
  // A page read with low confidence is checked for a sideways or upside-down scan (Tesseract OSD) and read again turned.
  AUTO_ROTATE: flag(true).describe(
    "A page read with mean confidence below 65 is checked by Tesseract's orientation detection (`@tesseract.js-data/osd`) and, when found sideways or upside down, read again turned; the turned reading is kept only when it reads with more confidence.",
  ),
  // A page is downscaled (or rendered at a lower DPI) so that it never exceeds this many pixels.
  MAX_PAGE_PIXELS: int(1_000_000, 500_000_000, 40_000_000).describe(
    'Pixel cap of a page: PDFs are rendered at a DPI lowered to fit it, images are downscaled to it.',
  ),
  PAGE_ATTEMPTS: int(1, 100, 3).describe('Attempts per page before it fails for good.'),
  // First retry delay; each further attempt doubles it.
  PAGE_BACKOFF_MS: int(0, 3_600_000, 5000).describe('Delay before the first retry; it doubles for each further one.'),

  // Seconds a finished document (status, results, files) and an Idempotency-Key are kept.
  RESULT_TTL: int(60, 365 * 24 * 3600, 7 * 24 * 3600).describe(
    'Seconds a finished document (status, results, files) and an `Idempotency-Key` are kept.',
  ),
  // How often a worker removes what RESULT_TTL has expired (files, finished BullMQ jobs).
  CLEANUP_INTERVAL_MS: int(1000, 7 * 24 * 3_600_000, 3_600_000).describe(
    'How often a worker removes what `RESULT_TTL` expired (stored documents, finished BullMQ jobs), and each API the uploads a crashed API left behind.',
  ),

  // Bearer tokens accepted on /v1 routes, comma-separated; unset, the API is open.
  API_KEYS: apiKeys
    .optional()
    .describe(
      'Comma-separated bearer keys (16+ characters each) required on `/v1`; each sees only the jobs it submitted. Unset, the API is open.',
    ),
  // Named tenants: several keys each (rotation keeps what the tenant owns), limits of their own.
  TENANTS: tenantList
    .optional()
    .describe(
      'JSON array of tenants, `[{"name": "acme", "keys": ["…"], "documentsPerMinute": 60, "maxQueuedPages": 5000, "maxInteractivePages": 20, "weight": 2}]`: each key (16+ characters) is required on `/v1` like one of `API_KEYS`, and what it submits belongs to its tenant, seen by every key of it; `documentsPerMinute`, `maxQueuedPages` and `maxInteractivePages` override `TENANT_DOCUMENTS_PER_MINUTE`, `TENANT_MAX_QUEUED_PAGES` and `TENANT_MAX_INTERACTIVE_PAGES`; `weight` (0.01–100, default 1) is its share of the workers while others wait too (2: twice the pages of a tenant of weight 1). A key of `API_KEYS` not listed here is a tenant of its own, named `key-` and the start of its SHA-256. See [tenants.md](tenants.md).',
    ),
  TENANT_DOCUMENTS_PER_MINUTE: int(1, 1_000_000, 1_000_000).describe(
    "Documents one tenant may submit per minute (a fixed window of the clock's minute); past it `429` with `Retry-After`. Unset, one million. Without keys, everyone is one tenant.",
  ),
  TENANT_MAX_QUEUED_PAGES: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000_000)
    .optional()
    .describe(
      "Pages of one tenant's running documents not yet read, at most: a submission that would pass it gets `429` `tenant_limit` with `Retry-After`, nothing of it kept. Unset, no limit per tenant (`MAX_QUEUED_PAGES` still bounds every tenant together), and nothing is counted: counting reads each of the tenant's running documents, a cost that grows with them.",
    ),
  TENANT_MAX_INTERACTIVE_PAGES: int(1, 1_000_000, 20).describe(
    "Pages of one tenant's running `priority=interactive` documents not yet read, at most: a larger interactive document gets `422` `too_many_interactive_pages`, one that would pass it with those already queued `429` `tenant_limit` with `Retry-After`. The lane is for documents a person waits for; batch has no such limit.",
  ),
  // What spans every tenant (workers, the queue dashboard) needs one of these.
  ADMIN_API_KEYS: apiKeys
    .optional()
    .describe(
      'Comma-separated keys for `GET /v1/workers` and `/admin/queues`, which show every tenant; also valid as API keys. Unset with `API_KEYS` set, nobody may use those.',
    ),

  // Signs webhook bodies (HMAC-SHA256); a submission with a callbackUrl is refused without it.
  WEBHOOK_SECRET: z
    .string()
    .min(16)
    .optional()
    .describe('Key (16+ characters) signing webhooks; unset, submissions with a `callbackUrl` are refused.'),
  // Callbacks to loopback, link-local and private addresses would let clients probe the internal
  // network (SSRF): refused unless this says the receivers live there.
  WEBHOOK_ALLOW_PRIVATE: flag().describe('`true` lets callbacks reach loopback, link-local and private addresses.'),
  // Deliveries per webhook; the first retry waits WEBHOOK_BACKOFF_MS, each further one twice as long
  // (8 attempts at 10 s span about 21 minutes).
  WEBHOOK_ATTEMPTS: int(1, 100, 8).describe('Deliveries tried per webhook.'),
  WEBHOOK_BACKOFF_MS: int(0, 3_600_000, 10_000).describe(
    'Delay before the first retry of a webhook; it doubles for each further one.',
  ),
  // One delivery attempt: connecting, sending and the receiver's answer.
  WEBHOOK_TIMEOUT_MS: int(100, 600_000, 10_000).describe('Time one delivery may take, connection and answer together.'),
});

const configSchema = CONFIG_SCHEMA.superRefine((config, ctx) => {
  const forms = [
    config.REDIS_URL && 'REDIS_URL',
    config.REDIS_SENTINELS && 'REDIS_SENTINELS',
    config.REDIS_CLUSTER_NODES && 'REDIS_CLUSTER_NODES',
  ].filter(Boolean);
  if (forms.length > 1) {
    ctx.addIssue({
      code: 'custom',
      path: [forms[1] as string],
      message: `${forms.join(' and ')} are set: give one way to reach Redis`,
    });
  }
  if (Boolean(config.REDIS_SENTINELS) !== Boolean(config.REDIS_SENTINEL_MASTER)) {
    ctx.addIssue({
      code: 'custom',
      path: [config.REDIS_SENTINELS ? 'REDIS_SENTINEL_MASTER' : 'REDIS_SENTINELS'],
      message: 'REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together',
    });
  }
  if (config.REDIS_SENTINEL_PASSWORD && !config.REDIS_SENTINELS) {
    ctx.addIssue({ code: 'custom', path: ['REDIS_SENTINEL_PASSWORD'], message: 'needs REDIS_SENTINELS' });
  }
  const hostForm = config.REDIS_SENTINELS || config.REDIS_CLUSTER_NODES;
  for (const name of ['REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS'] as const) {
    if (config[name] && !hostForm) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message:
          'applies to REDIS_SENTINELS or REDIS_CLUSTER_NODES; a REDIS_URL carries its own (user:password@, rediss://)',
      });
    }
  }
  if (config.DESKEW === true && config.OCR_ENGINE === 'native') {
    ctx.addIssue({
      code: 'custom',
      path: ['DESKEW'],
      message: "DESKEW=true needs OCR_ENGINE=tesseract.js: Tesseract's command has no deskew step",
    });
  }
  if (config.LARGE_PAGE_PIXELS > config.MAX_PAGE_PIXELS) {
    ctx.addIssue({
      code: 'custom',
      path: ['LARGE_PAGE_PIXELS'],
      message: `LARGE_PAGE_PIXELS (${config.LARGE_PAGE_PIXELS}) must not exceed MAX_PAGE_PIXELS (${config.MAX_PAGE_PIXELS})`,
    });
  }
  if (config.STORAGE === 's3' && !config.S3_BUCKET) {
    ctx.addIssue({ code: 'custom', path: ['S3_BUCKET'], message: 'S3_BUCKET is required with STORAGE=s3' });
  }
  if (config.HEARTBEAT_INTERVAL_MS * 3 > config.LOCK_DURATION_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['HEARTBEAT_INTERVAL_MS'],
      message: `HEARTBEAT_INTERVAL_MS (${config.HEARTBEAT_INTERVAL_MS}) must be at most a third of LOCK_DURATION_MS (${config.LOCK_DURATION_MS}): a stalled page's worker counts as dead when its last beat is older than half the lock`,
    });
  }
  const names = new Set<string>();
  const keys = new Set<string>(config.API_KEYS ?? []);
  for (const tenant of config.TENANTS ?? []) {
    if (names.has(tenant.name)) {
      ctx.addIssue({ code: 'custom', path: ['TENANTS'], message: `two tenants are named ${tenant.name}` });
    }
    names.add(tenant.name);
    for (const key of tenant.keys) {
      if (keys.has(key)) {
        ctx.addIssue({
          code: 'custom',
          path: ['TENANTS'],
          message: `a key of tenant ${tenant.name} is given twice (in TENANTS or API_KEYS)`,
        });
      }
      keys.add(key);
    }
  }
  if (config.DEFAULT_DPI > config.MAX_DPI) {
    ctx.addIssue({
      code: 'custom',
      path: ['DEFAULT_DPI'],
      message: `DEFAULT_DPI (${config.DEFAULT_DPI}) must not exceed MAX_DPI (${config.MAX_DPI})`,
    });
  }
}).transform((config) => ({
  ...config,
  DESKEW: config.DESKEW ?? config.OCR_ENGINE === 'tesseract.js',
  // BullMQ's keys of one flow (a document's job, its pages) must share a hash slot, and so must
  // those pagefleet's scripts touch together: in a cluster the prefix is a hash tag.
  QUEUE_PREFIX: config.REDIS_CLUSTER_NODES ? `{${config.QUEUE_PREFIX}}` : config.QUEUE_PREFIX,
}));

export type Config = Readonly<z.infer<typeof configSchema>>;

/** Every variable the schema reads: deployment files are checked against it. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(CONFIG_SCHEMA.shape);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once; the message names every variable that is wrong. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input = Object.fromEntries(
    Object.keys(CONFIG_SCHEMA.shape).map((key) => [key, env[key] === '' ? undefined : env[key]]),
  );
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration\n  ${problems.join('\n  ')}`);
  }
  return Object.freeze(parsed.data);
}

/** For a process entry point: a bad value stops the process (exit 78, EX_CONFIG) with the message. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(78);
  }
}

// npm run soak: documents keep arriving while worker processes are SIGKILLed and restarted at
// random, and, once each: a worker is paused (SIGSTOP) past its lock, Redis (append-only, as in
// production) is restarted, Redis is frozen (SIGSTOP) past the lock, Redis loses its data
// (FLUSHALL), Redis is full (maxmemory under noeviction) past the lock, and DATA_DIR's disk is
// filled to the last byte for a while (a tmpfs of its own; needs root, else skipped). At the end
// every page of every accepted document must have exactly one result (a page Redis lost before it
// was stored has a failed one, reason lost) and every document must have ended; the run prints
// what it did and lost=0. With --sentinel, Redis is a Sentinel group (a
// primary, a replica, three sentinels) and its faults are one failover instead: the primary is
// SIGKILLed mid-run and the replica promoted (docs/soak-sentinel.json).
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { FINISHED_STATUSES, type DocumentState, type PageResult } from '@pagefleet/shared';
import { pdfOf, textPage, wordLines } from './lib/fixtures.js';
import { startApp, waitReady, type AppProcess } from './lib/apps.js';
import { askRedis, fillRedis, startRedisServer, type RedisServer } from './lib/redis-server.js';
import { startSentinelGroup } from './lib/sentinel.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    workers: { type: 'string', default: '2' },
    'kill-every': { type: 'string', default: '8' },
    port: { type: 'string', default: '3990' },
    sentinel: { type: 'boolean', default: false },
  },
});
const seconds = Number(args.seconds);
const workerCount = Number(args.workers);
const killEverySeconds = Number(args['kill-every']);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const random = (min: number, max: number) => min + Math.random() * (max - min);

const work = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-soak-'));
const logFile = path.join(work, 'soak.log');
await mkdir(path.join(work, 'redis'));
const dataDir = path.join(work, 'data');
await mkdir(dataDir);
const diskMounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256m', 'tmpfs', dataDir]).status === 0;
const sentinel = args.sentinel ? await startSentinelGroup(path.join(work, 'redis')) : undefined;
let redis: RedisServer | undefined = sentinel ? undefined : await startRedisServer(path.join(work, 'redis'), true);
const redisPort = redis ? Number(new URL(redis.url).port) : 0;
const env = {
  ...(redis ? { REDIS_URL: redis.url } : sentinel?.env),
  QUEUE_PREFIX: 'soak',
  DATA_DIR: dataDir,
  // The soak's own small disk: below this, uploads are refused and /ready fails.
  MIN_FREE_DISK: '16Mi',
  PORT: args.port,
  LOG_LEVEL: 'info',
  WORKER_CONCURRENCY: '1',
  WORKER_PORT: '0',
  // Short locks: a killed worker's page is found in seconds, so the run sees many recoveries.
  LOCK_DURATION_MS: '4000',
  STALLED_INTERVAL_MS: '2000',
  HEARTBEAT_INTERVAL_MS: '1000',
  PAGE_BACKOFF_MS: '500',
};
const url = `http://127.0.0.1:${args.port}`;
const api = startApp('api', env, { logFile });
await waitReady(url);
const workers: AppProcess[] = Array.from({ length: workerCount }, () => startApp('worker', env, { logFile }));

// A few distinct pages, made once; documents are 1 to 4 of them in a PDF.
const pages = await Promise.all([1, 2, 3, 4, 5, 6].map((seed) => textPage(wordLines(seed, 6, 7))));

const accepted: string[] = [];
const refused: Record<number, number> = {};
let kills = 0;
let redisRestarts = 0;
let redisFreezes = 0;
let failovers = 0;
let firstAcceptedAfterFailoverMs: number | undefined;
let failedOverAt: number | undefined;
let workerPauses = 0;
let diskFills = 0;
let flushes = 0;
let redisFulls = 0;
let submittedPages = 0;
const until = Date.now() + seconds * 1000;

async function submitLoop(): Promise<void> {
  while (Date.now() < until) {
    const count = 1 + Math.floor(Math.random() * 4);
    const chosen = Array.from({ length: count }, () => pages[Math.floor(Math.random() * pages.length)] as Buffer);
    const form = new FormData();
    form.append('file', new Blob([await pdfOf(chosen)]), 'doc.pdf');
    const response = await fetch(`${url}/v1/jobs`, { method: 'POST', body: form }).catch(() => undefined);
    if (response?.status === 202) {
      if (failedOverAt !== undefined && firstAcceptedAfterFailoverMs === undefined) {
        firstAcceptedAfterFailoverMs = Date.now() - failedOverAt;
      }
      accepted.push(((await response.json()) as { id: string }).id);
      submittedPages += count;
    } else {
      // Refusals (503 while Redis restarts) are not losses: the client was told to retry.
      const status = response?.status ?? 0;
      refused[status] = (refused[status] ?? 0) + 1;
      await response?.body?.cancel();
    }
    await sleep(random(500, 2000));
  }
}

async function killLoop(): Promise<void> {
  while (Date.now() < until) {
    await sleep(random(0.5, 1.5) * killEverySeconds * 1000);
    if (Date.now() >= until) break;
    const index = Math.floor(Math.random() * workers.length);
    workers[index]?.child.kill('SIGKILL');
    kills++;
    await sleep(500);
    workers[index] = startApp('worker', env, { logFile });
  }
}

async function redisRestart(): Promise<void> {
  if (!redis) return;
  await sleep(seconds * 400);
  await redis.stop();
  await sleep(2000);
  redis = await startRedisServer(path.join(work, 'redis'), true, redisPort);
  redisRestarts++;
}

const lockMs = Number(env.LOCK_DURATION_MS);

/** A worker paused past its lock: its page is taken over, and its late result refused. */
async function workerPause(): Promise<void> {
  await sleep(seconds * 200);
  const paused = workers[Math.floor(Math.random() * workers.length)] as AppProcess;
  paused.child.kill('SIGSTOP');
  await sleep(lockMs * 2);
  paused.child.kill('SIGCONT');
  workerPauses++;
}

/** The Sentinel group's primary SIGKILLed: the sentinels promote the replica. */
async function failover(): Promise<void> {
  if (!sentinel) return;
  await sleep(seconds * 500);
  await sentinel.killPrimary();
  failedOverAt = Date.now();
  failovers++;
}

/** Redis frozen past the lock: connections stay open, nothing answers. */
async function redisFreeze(): Promise<void> {
  if (!redis) return;
  await sleep(seconds * 600);
  const frozen = redis;
  frozen.child.kill('SIGSTOP');
  await sleep(lockMs + 3000);
  frozen.child.kill('SIGCONT');
  redisFreezes++;
}

/** Redis loses everything it held (an operator's FLUSHALL, a restart without persistence). */
async function flushAll(): Promise<void> {
  if (!redis) return;
  await sleep(seconds * 300);
  await askRedis(redis.url, (client) => client.flushall());
  flushes++;
}

/** Redis at maxmemory under noeviction, refusing every write, for longer than a lock. */
async function redisFull(): Promise<void> {
  if (!redis) return;
  await sleep(seconds * 700);
  const empty = await fillRedis(redis.url);
  await sleep(lockMs * 3);
  await empty();
  redisFulls++;
}

/** DATA_DIR's disk full for a few seconds, then emptied again. */
async function diskFill(): Promise<void> {
  if (!diskMounted) return;
  await sleep(seconds * 800);
  const filler = path.join(dataDir, 'filler');
  spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M']);
  await sleep(5000);
  await rm(filler, { force: true });
  diskFills++;
}

console.log(
  `soak: ${seconds} s, ${workerCount} workers, a kill every ~${killEverySeconds} s; once each: a worker paused, ` +
    `${sentinel ? 'a Sentinel failover' : 'a Redis restart, a Redis freeze, a FLUSHALL, a full Redis'}${diskMounted ? ', a full disk' : ' (no full disk: mounting a tmpfs needs root)'}; log ${logFile}`,
);
await Promise.all([
  submitLoop(),
  killLoop(),
  workerPause(),
  redisRestart(),
  redisFreeze(),
  flushAll(),
  redisFull(),
  failover(),
  diskFill(),
]);

async function json<T>(pathname: string): Promise<T> {
  return (await (await fetch(`${url}${pathname}`)).json()) as T;
}

// Everything accepted must finish; a document left unfinished is counted lost with its pages.
const drainUntil = Date.now() + 10 * 60_000;
let unfinished = [...accepted];
while (unfinished.length > 0 && Date.now() < drainUntil) {
  const states = await Promise.all(
    unfinished.map((id) => json<DocumentState>(`/v1/jobs/${id}`).catch(() => undefined)),
  );
  unfinished = unfinished.filter((_, i) => !FINISHED_STATUSES.has(states[i]?.status as DocumentState['status']));
  if (unfinished.length > 0) await sleep(1000);
}

let lost = 0;
let pagesChecked = 0;
const outcomes: Record<string, number> = {};
for (const id of accepted) {
  const result = await json<{ pageCount: number; pages: Array<PageResult | { page: number; status: 'pending' }> }>(
    `/v1/jobs/${id}/result?limit=1000`,
  );
  const seen = new Set<number>();
  for (const page of result.pages) {
    if (page.status === 'pending' || seen.has(page.page)) lost++;
    seen.add(page.page);
    const key = page.status === 'failed' ? `failed:${page.reason ?? 'error'}` : page.status;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }
  lost += result.pageCount - seen.size;
  pagesChecked += result.pageCount;
}

// Pages processed more than once: a worker killed after storing a result and before BullMQ
// recorded it. The stored result is still one per page.
const completions = new Map<string, number>();
for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
  if (!line.includes('"msg":"page completed"')) continue;
  const { documentId, page } = JSON.parse(line) as { documentId: string; page: number };
  completions.set(`${documentId}.${page}`, (completions.get(`${documentId}.${page}`) ?? 0) + 1);
}
const reprocessed = [...completions.values()].filter((count) => count > 1).length;

await Promise.all(workers.map((worker) => worker.stop()));
await api.stop();
await redis?.stop();
await sentinel?.stop();

const report = {
  seconds,
  workers: workerCount,
  documents: accepted.length,
  pages: pagesChecked,
  submittedPages,
  kills,
  workerPauses,
  redisRestarts,
  redisFreezes,
  flushes,
  redisFulls,
  failovers,
  firstAcceptedAfterFailoverMs,
  diskFills,
  refused,
  outcomes,
  reprocessed,
  unfinished: unfinished.length,
  lost,
};
await writeFile(
  path.join(root, 'docs', sentinel ? 'soak-sentinel.json' : 'soak.json'),
  `${JSON.stringify(report, null, 2)}\n`,
);
console.log(
  `documents ${report.documents}, pages ${report.pages}, kills ${kills}, worker pauses ${workerPauses}, ` +
    `redis restarts ${redisRestarts}, redis freezes ${redisFreezes}, flushes ${flushes}, redis full ${redisFulls}, ` +
    `failovers ${failovers} ` +
    `(first accepted ${firstAcceptedAfterFailoverMs ?? '-'} ms after), disk fills ${diskFills}, ` +
    `refused ${JSON.stringify(refused)}, outcomes ${JSON.stringify(outcomes)}, reprocessed ${reprocessed}, lost=${lost}`,
);
if (diskMounted) spawnSync('umount', ['-l', dataDir]);
if (lost === 0 && unfinished.length === 0) await rm(work, { recursive: true, force: true });
process.exit(lost === 0 && unfinished.length === 0 ? 0 : 1);

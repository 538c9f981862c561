// `npm run bench:fairness`: how long one tenant's single page waits behind another tenant's
// backlog. Tenant A floods the fleet (1,000 one-page documents; or one 2,000-page document; or ten
// tenants 100 documents each; or 60 one-page scans), then tenant B submits one one-page document;
// B's wait (from its 202 to its page starting) is reported in seconds, in page-times and in pages
// started before it, with A's throughput alone and with B. Pages are born-digital (read from their
// text layer), so that the order pages are served in is what is measured, not OCR; the scans show
// the same with pages as long as OCR makes them, where the fixed cost of queueing and fetching B's
// page weighs little against a page-time. Writes docs/fairness.json and the table of
// docs/fairness.md.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pageJobId, QUEUES, type DocumentState } from '@pagefleet/shared';
import { writeBenchSection } from './lib/doc-section.js';
import { medianBy } from './lib/median.js';
import { startApp, waitReady, type AppProcess } from '../lib/apps.js';
import { scannedPage, wordLines } from '../lib/fixtures.js';
import { freePort, startRedisServer } from '../lib/redis-server.js';
import { layeredPdf } from '../lib/text-pdfs.js';

// --alone-runs N: the flood alone N times, its median run reported (the same code moves by up to a
// quarter from run to run on two CPUs). --against DIR: another checkout, built (e.g. a git worktree
// of the code before a change), whose flood alone runs N times too, each run beside one of this
// code's, so that both see the machine as it is at the time. --only TEXT: the scenarios whose
// name holds TEXT, printed, nothing written.
const { values: args } = parseArgs({
  options: {
    'alone-runs': { type: 'string', default: '1' },
    against: { type: 'string' },
    only: { type: 'string' },
  },
});
const ALONE_RUNS = Number(args['alone-runs']);
const against = args.against
  ? {
      root: path.resolve(args.against),
      commit: execFileSync('git', ['-C', args.against, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
    }
  : undefined;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SLOTS = 2;
const FLOOD_DOCUMENTS = 1000;
const SCANS = 60;
const LONG_PAGES = 2000;
const TENANTS = 10;
/** Uploads one tenant sends at once: UPLOADS_PER_CLIENT's default; ten tenants send half as many each (MAX_CONCURRENT_UPLOADS). */
const UPLOADS_AT_ONCE = 8;

const work = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-fairness-'));
const logFile = path.join(work, 'apps.log');
await mkdir(path.join(work, 'redis'));
const redis = await startRedisServer(path.join(work, 'redis'), false);
process.once('exit', () => redis.child.kill('SIGKILL'));

const keyOf = (tenant: string) => `bench-key-of-${tenant}-0000`;
const tenantNames = ['b', ...Array.from({ length: TENANTS }, (_, i) => `a${i}`)];
const onePage = await layeredPdf([{ kind: 'text', lines: wordLines(1, 30) }]);
const oneScan = await layeredPdf([{ kind: 'scan', image: await scannedPage(2) }]);
const longDocument = await layeredPdf(
  Array.from({ length: LONG_PAGES }, (_, p) => ({ kind: 'text' as const, lines: wordLines(p, 30) })),
);

interface Fleet {
  url: string;
  workerPort: number;
  /** The API's and the worker's. */
  pids: number[];
  /** When each page started, by job id, once all have ended. */
  starts(): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

/**
 * The API and one worker of SLOTS slots, on a prefix of their own, every tenant configured: this
 * checkout's build, or `appsRoot`'s.
 */
async function startFleet(appsRoot?: string): Promise<Fleet> {
  const [apiPort, workerPort] = [await freePort(), await freePort()];
  const env = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: `fairness-${Date.now()}`,
    DATA_DIR: path.join(work, `data-${Date.now()}`),
    PORT: String(apiPort),
    LOG_LEVEL: 'warn',
    MAX_PAGES: String(LONG_PAGES),
    TENANTS: JSON.stringify(tenantNames.map((name) => ({ name, keys: [keyOf(name)] }))),
  };
  const apps: AppProcess[] = [
    startApp('api', env, { logFile, root: appsRoot }),
    startApp(
      'worker',
      { ...env, WORKER_CONCURRENCY: String(SLOTS), WORKER_QUEUES: 'pages', WORKER_PORT: String(workerPort) },
      { logFile, root: appsRoot },
    ),
  ];
  const url = `http://127.0.0.1:${apiPort}`;
  await waitReady(url);
  await waitReady(`http://127.0.0.1:${workerPort}`, 60_000);
  return {
    url,
    workerPort,
    pids: apps.map((app) => app.pid),
    async starts() {
      const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
      const queue = new Queue(QUEUES.pages, { connection, prefix: env.QUEUE_PREFIX });
      try {
        const jobs = await queue.getJobs(['completed'], 0, -1);
        return new Map(jobs.map((job) => [job.id ?? '', job.processedOn ?? 0]));
      } finally {
        await queue.close();
        connection.disconnect();
      }
    },
    async stop() {
      await Promise.all(apps.map((app) => app.stop()));
      await rm(env.DATA_DIR, { recursive: true, force: true });
    },
  };
}

async function submit(fleet: Fleet, tenant: string, pdf: Buffer): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([pdf]), 'doc.pdf');
  const response = await fetch(`${fleet.url}/v1/jobs`, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${keyOf(tenant)}` },
  });
  if (response.status !== 202) throw new Error(`${tenant}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/** `count` one-page documents of `tenant` (`pdf`), `atOnce` uploads at a time. */
async function flood(
  fleet: Fleet,
  tenant: string,
  count: number,
  atOnce = UPLOADS_AT_ONCE,
  pdf = onePage,
): Promise<void> {
  let left = count;
  await Promise.all(
    Array.from({ length: atOnce }, async () => {
      while (left-- > 0) await submit(fleet, tenant, pdf);
    }),
  );
}

/** Pages completed per tenant, from the worker's metrics. */
async function completed(fleet: Fleet): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${fleet.workerPort}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const [, tenant = '', value] of text.matchAll(
    /^pagefleet_tenant_pages_total\{tenant="([^"]+)"[^}]*\} (\d+)/gm,
  )) {
    counts.set(tenant, (counts.get(tenant) ?? 0) + Number(value));
  }
  return counts;
}

async function untilCompleted(fleet: Fleet, pages: number): Promise<void> {
  for (;;) {
    const done = [...(await completed(fleet)).values()].reduce((sum, n) => sum + n, 0);
    if (done >= pages) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Scenario {
  name: string;
  /** What the flooding tenants submit; resolves once all of it is accepted. */
  flood(fleet: Fleet): Promise<void>;
  pages: number;
}

/** Commands Redis has processed since it started, from every client. */
async function redisCommands(): Promise<number> {
  const connection = new Redis(redis.url);
  try {
    return Number(/total_commands_processed:(\d+)/.exec(await connection.info('stats'))?.[1]);
  } finally {
    connection.disconnect();
  }
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** CPU seconds a process and its children ended so far have used, from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name (which may hold spaces), from the state (field 3): utime,
  // stime, cutime and cstime are fields 14 to 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / CLOCK_TICKS;
}

/**
 * CPU seconds of the API, the worker (its tools included) and Redis: what a page costs the
 * machine, which run-to-run noise in wall time hides on two CPUs.
 */
async function fleetCpu(fleet: Fleet): Promise<number> {
  const pids = [...fleet.pids, redis.child.pid ?? 0];
  return (await Promise.all(pids.map(cpuSeconds))).reduce((sum, seconds) => sum + seconds, 0);
}

/**
 * The flood on a fresh fleet (`appsRoot`'s build, or this checkout's); with B, B's one page
 * submitted once the flood is accepted: its wait, its end to end. The flood's time, Redis commands
 * and CPU a page.
 */
async function run(scenario: Scenario, withB: boolean, appsRoot?: string) {
  const fleet = await startFleet(appsRoot);
  try {
    const commandsBefore = await redisCommands();
    const cpuBefore = await fleetCpu(fleet);
    const started = performance.now();
    await scenario.flood(fleet);
    let b: { waitSeconds: number; endToEndSeconds: number; pagesAhead: number } | undefined;
    if (withB) {
      const sent = performance.now();
      const id = await submit(fleet, 'b', onePage);
      const acceptedAt = Date.now();
      const headers = { authorization: `Bearer ${keyOf('b')}` };
      for (;;) {
        const doc = (await (await fetch(`${fleet.url}/v1/jobs/${id}`, { headers })).json()) as DocumentState;
        if (doc.status === 'completed') break;
        if (doc.status !== 'queued' && doc.status !== 'processing') throw new Error(`B ended ${doc.status}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const endToEndSeconds = (performance.now() - sent) / 1000;
      await untilCompleted(fleet, scenario.pages + 1);
      const starts = await fleet.starts();
      const bStart = starts.get(pageJobId(id, 1)) ?? 0;
      const pagesAhead = [...starts.values()].filter((at) => at >= acceptedAt && at < bStart).length;
      b = { waitSeconds: (bStart - acceptedAt) / 1000, endToEndSeconds, pagesAhead };
    }
    await untilCompleted(fleet, scenario.pages + (withB ? 1 : 0));
    const seconds = (performance.now() - started) / 1000;
    const cpuMsPerPage = (((await fleetCpu(fleet)) - cpuBefore) * 1000) / scenario.pages;
    const commandsPerPage = ((await redisCommands()) - commandsBefore) / scenario.pages;
    return { seconds, pagesPerMinute: (scenario.pages * 60) / seconds, b, commandsPerPage, cpuMsPerPage };
  } finally {
    await fleet.stop();
  }
}

const scenarios: Scenario[] = [
  {
    name: `A: ${FLOOD_DOCUMENTS} one-page documents`,
    flood: (fleet) => flood(fleet, 'a0', FLOOD_DOCUMENTS),
    pages: FLOOD_DOCUMENTS,
  },
  {
    name: `A: one ${LONG_PAGES}-page document`,
    flood: async (fleet) => void (await submit(fleet, 'a0', longDocument)),
    pages: LONG_PAGES,
  },
  {
    name: `${TENANTS} tenants: ${FLOOD_DOCUMENTS / TENANTS} one-page documents each`,
    flood: (fleet) =>
      Promise.all(
        Array.from({ length: TENANTS }, (_, i) =>
          flood(fleet, `a${i}`, FLOOD_DOCUMENTS / TENANTS, UPLOADS_AT_ONCE / 2),
        ),
      ).then(() => undefined),
    pages: FLOOD_DOCUMENTS,
  },
  {
    name: `A: ${SCANS} one-page scans (OCRed)`,
    flood: (fleet) => flood(fleet, 'a0', SCANS, UPLOADS_AT_ONCE, oneScan),
    pages: SCANS,
  },
];

const byRate = (run: { pagesPerMinute: number }) => run.pagesPerMinute;
const medianCpu = (runs: ReadonlyArray<{ cpuMsPerPage: number }>) =>
  medianBy(runs, (run) => run.cpuMsPerPage).cpuMsPerPage;
const percent = (now: number, then: number) => {
  const change = (now / then - 1) * 100;
  return `${change >= 0 ? '+' : '−'}${Math.abs(change).toFixed(1)} %`;
};
/** Every run's figure, in order. */
const listed = (values: number[], digits: number) => values.map((value) => value.toFixed(digits)).join(', ');

const rows = [];
for (const scenario of scenarios.filter((candidate) => !args.only || candidate.name.includes(args.only))) {
  const runs = [];
  const againstRuns = [];
  for (let i = 0; i < ALONE_RUNS; i++) {
    if (against) againstRuns.push(await run(scenario, false, against.root));
    runs.push(await run(scenario, false));
  }
  const aloneRates = runs.map((one) => one.pagesPerMinute);
  const alone = medianBy(runs, byRate);
  const againstAlone = medianBy(againstRuns, byRate);
  const before = against && {
    commit: against.commit,
    pagesPerMinuteAlone: againstAlone.pagesPerMinute,
    pagesPerMinuteAloneRuns: againstRuns.map((one) => one.pagesPerMinute),
    redisCommandsPerPageAlone: againstAlone.commandsPerPage,
    cpuMsPerPageAlone: medianCpu(againstRuns),
    cpuMsPerPageAloneRuns: againstRuns.map((one) => one.cpuMsPerPage),
  };
  const shared = await run(scenario, true);
  const b = shared.b as NonNullable<typeof shared.b>;
  // A page-time: how long a slot takes per page of the flood, alone (its pages per second over
  // the slots, inverted).
  const pageTime = (alone.seconds * SLOTS) / scenario.pages;
  const row = {
    scenario: scenario.name,
    floodPagesPerMinuteAlone: alone.pagesPerMinute,
    floodPagesPerMinuteAloneRuns: aloneRates,
    floodPagesPerMinuteWithB: shared.pagesPerMinute,
    bWaitSeconds: b.waitSeconds,
    bEndToEndSeconds: b.endToEndSeconds,
    bWaitPageTimes: b.waitSeconds / pageTime,
    bPagesAhead: b.pagesAhead,
    pageTimeSeconds: pageTime,
    redisCommandsPerPageAlone: alone.commandsPerPage,
    cpuMsPerPageAlone: medianCpu(runs),
    cpuMsPerPageAloneRuns: runs.map((one) => one.cpuMsPerPage),
    against: before,
  };
  if (before) {
    console.log(
      `${scenario.name}, ${before.commit} alone: ${before.pagesPerMinuteAlone.toFixed(0)} pages/min (runs ${listed(before.pagesPerMinuteAloneRuns, 0)}), ${before.redisCommandsPerPageAlone.toFixed(1)} Redis commands and ${before.cpuMsPerPageAlone.toFixed(1)} ms of CPU a page (runs ${listed(before.cpuMsPerPageAloneRuns, 1)})`,
    );
  }
  console.log(
    `${scenario.name}: alone ${alone.pagesPerMinute.toFixed(0)} pages/min (runs ${listed(aloneRates, 0)}), with B ${shared.pagesPerMinute.toFixed(0)}; B waited ${b.waitSeconds.toFixed(2)} s (${row.bWaitPageTimes.toFixed(1)} page-times, ${b.pagesAhead} pages started before it), end to end ${b.endToEndSeconds.toFixed(2)} s; ${alone.commandsPerPage.toFixed(1)} Redis commands and ${row.cpuMsPerPageAlone.toFixed(1)} ms of CPU a page (runs ${listed(row.cpuMsPerPageAloneRuns, 1)})`,
  );
  rows.push(row);
}

if (args.only) {
  await rm(work, { recursive: true, force: true });
  await redis.stop();
  process.exit(0);
}

const measured = {
  measuredAt: new Date().toISOString().slice(0, 10),
  machine: { cpus: os.availableParallelism(), memoryBytes: os.totalmem(), node: process.version },
  slots: SLOTS,
  rows,
};
await writeFile(path.join(root, 'docs', 'fairness.json'), `${JSON.stringify(measured, null, 2)}\n`);
interface FloodAlone {
  scenario: string;
  floodPagesPerMinuteAlone: number;
  floodPagesPerMinuteAloneRuns: number[];
  redisCommandsPerPageAlone: number;
  cpuMsPerPageAlone: number;
  cpuMsPerPageAloneRuns: number[];
  against:
    | {
        pagesPerMinuteAlone: number;
        pagesPerMinuteAloneRuns: number[];
        redisCommandsPerPageAlone: number;
        cpuMsPerPageAlone: number;
        cpuMsPerPageAloneRuns: number[];
      }
    | undefined;
}

/** The flood alone on both versions, their runs interleaved: medians, the change, and every run. */
function againstTable(commit: string, rows: readonly FloodAlone[]): string {
  const lines = rows.flatMap((r) => {
    if (!r.against) return [];
    return [
      `| ${r.scenario} | ${r.against.pagesPerMinuteAlone.toFixed(0)} (${listed(r.against.pagesPerMinuteAloneRuns, 0)}) | ${r.floodPagesPerMinuteAlone.toFixed(0)} (${listed(r.floodPagesPerMinuteAloneRuns, 0)}) | ${percent(r.floodPagesPerMinuteAlone, r.against.pagesPerMinuteAlone)} | ${r.against.cpuMsPerPageAlone.toFixed(1)} (${listed(r.against.cpuMsPerPageAloneRuns, 1)}) | ${r.cpuMsPerPageAlone.toFixed(1)} (${listed(r.cpuMsPerPageAloneRuns, 1)}) | ${percent(r.cpuMsPerPageAlone, r.against.cpuMsPerPageAlone)} | ${r.against.redisCommandsPerPageAlone.toFixed(1)} → ${r.redisCommandsPerPageAlone.toFixed(1)} |`,
    ];
  });
  return `

The flood alone against commit ${commit} (\`--against\`), ${ALONE_RUNS} runs of each, each of this code's runs right after one of the other's; medians, then every run in order:

| flood | ${commit} alone, pages/min | this code alone, pages/min | change | ${commit}, CPU ms a page | this code, CPU ms a page | change | Redis commands a page |
|---|---|---|---|---|---|---|---|
${lines.join('\n')}`;
}

const table = `Measured ${measured.measuredAt} by \`npm run bench:fairness\` on ${measured.machine.cpus} CPUs, Node ${process.version}: the API and one worker of ${SLOTS} slots, born-digital one-page text pages. B's wait runs from its 202 to its page's start (BullMQ's processedOn), its end to end from sending its upload to seeing it completed; a page-time is the time a slot takes per page of the flood, alone; pages ahead are the flood's pages started in between; Redis commands are every command the fleet sent (INFO's total_commands_processed) over the flood's pages, idle polling and heartbeats included; CPU is the API's, the worker's (its tools included) and Redis' over the flood, alone. Raw figures: [fairness.json](fairness.json).

| flood | flood alone, pages/min | flood with B, pages/min | B's wait, s | B's wait, page-times | pages started before B's | B end to end, s | Redis commands a page | CPU ms a page |
|---|---|---|---|---|---|---|---|---|
${rows.map((r) => `| ${r.scenario} | ${r.floodPagesPerMinuteAlone.toFixed(0)} | ${r.floodPagesPerMinuteWithB.toFixed(0)} | ${r.bWaitSeconds.toFixed(2)} | ${r.bWaitPageTimes.toFixed(1)} | ${r.bPagesAhead} | ${r.bEndToEndSeconds.toFixed(2)} | ${r.redisCommandsPerPageAlone.toFixed(1)} | ${r.cpuMsPerPageAlone.toFixed(1)} |`).join('\n')}${against ? againstTable(against.commit, rows) : ''}`;
await writeBenchSection(path.join(root, 'docs', 'fairness.md'), table);
console.log('\nwrote docs/fairness.json and docs/fairness.md');
await rm(work, { recursive: true, force: true });
await redis.stop();

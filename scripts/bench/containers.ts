// npm run bench:containers — the images as a user gets them, and the fleet's memory under real
// cgroup limits: image sizes, seconds from `podman run` to ready, and each container's memory
// (its cgroup's high-water mark and its anonymous memory) against its limit. Repeats the two runs
// whose spread issue 30 asked about: a worker at one slot reading a 12-page scan, and the API
// taking 30 uploads of a 7 MB scan at once. Writes docs/containers.json and docs/containers.md.
import { chownSync, mkdtempSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DocumentState } from '@pagefleet/shared';
import { waitReady } from '../lib/apps.js';
import {
  buildImages,
  IMAGES,
  podman,
  podmanProblem,
  sampleMemory,
  startContainer,
  type Container,
} from '../lib/containers.js';
import { noisePdf, pdfOf, scannedPage } from '../lib/fixtures.js';
import { freePort, startRedisServer } from '../lib/redis-server.js';
import { until } from '../lib/until.js';
import { hostileDocuments } from './lib/hostile.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MiB = 1024 ** 2;
const inMiB = (bytes: number) => Math.round(bytes / MiB);
const REPEATS = 3;

const problem = await podmanProblem();
if (problem) {
  console.error(`bench:containers: ${problem}`);
  process.exit(1);
}
console.log('pagefleet bench:containers');
const buildStarted = Date.now();
await buildImages((line) => console.log(`  ${line}`));
const buildSeconds = (Date.now() - buildStarted) / 1000;

const dirs: string[] = [];
const folder = (label: string) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), `pagefleet-bench-${label}-`));
  chownSync(dir, 1000, 1000);
  dirs.push(dir);
  return dir;
};
const redisDir = mkdtempSync(path.join(os.tmpdir(), 'pagefleet-bench-redis-'));
dirs.push(redisDir);
const redis = await startRedisServer(redisDir, false);
let serial = 0;

interface Started {
  container: Container;
  url: string;
  readySeconds: number;
}

/** Starts a container of the fleet (a fresh data folder unless given) and waits for /ready. */
async function start(
  app: 'api' | 'worker',
  env: Record<string, string>,
  memory: string,
  dataDir = folder('data'),
): Promise<Started> {
  const port = await freePort();
  const began = Date.now();
  const container = startContainer({
    name: `pagefleet-bench-${process.pid}-${app}-${++serial}`,
    image: IMAGES[app],
    env: {
      REDIS_URL: redis.url,
      // Containers on one data folder are one fleet.
      QUEUE_PREFIX: `bench-${path.basename(dataDir)}`,
      LOG_LEVEL: 'info',
      [app === 'api' ? 'PORT' : 'WORKER_PORT']: String(port),
      ...env,
    },
    dataDir,
    tmpDir: folder('tmp'),
    memory,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, 60_000);
  return { container, url, readySeconds: (Date.now() - began) / 1000 };
}

async function submit(url: string, file: string, data: Buffer, fields: Record<string, string> = {}): Promise<string> {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  form.append('file', new Blob([data]), file);
  const response = await fetch(`${url}/v1/jobs`, { method: 'POST', body: form });
  if (response.status !== 202) throw new Error(`${file}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

const ended = (url: string, id: string) =>
  until(
    `document ${id} ends`,
    async () => {
      const doc = (await (await fetch(`${url}/v1/jobs/${id}`)).json()) as DocumentState;
      return ['completed', 'partial', 'failed', 'canceled'].includes(doc.status) ? doc : undefined;
    },
    20 * 60_000,
  );

async function stop(...started: Started[]): Promise<void> {
  for (const { container } of started) {
    await container.stop();
    await container.remove();
  }
}

// 1. The images.
const images = [];
for (const [app, image] of Object.entries(IMAGES)) {
  const size = Number(await podman(['image', 'inspect', '--format', '{{.Size}}', image]));
  images.push({ app, image, sizeMiB: inMiB(size) });
}
console.log(`\n1. images: ${images.map((image) => `${image.image} ${image.sizeMiB} MiB`).join(', ')}`);

// 2. Seconds from `podman run` to /ready.
const ready: Record<'api' | 'worker', number[]> = { api: [], worker: [] };
for (let i = 0; i < REPEATS; i++) {
  const api = await start('api', {}, '256m');
  const worker = await start('worker', {}, '512m');
  ready.api.push(api.readySeconds);
  ready.worker.push(worker.readySeconds);
  await stop(worker, api);
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
console.log(
  `2. start to ready (median of ${REPEATS}): API ${median(ready.api).toFixed(1)} s, worker ${median(ready.worker).toFixed(1)} s`,
);

// 3. A worker under 512 MB at one slot reading the same 12-page scan, REPEATS times.
const scan = await pdfOf(await Promise.all(Array.from({ length: 12 }, (_, i) => scannedPage(200 + i))));
const oneSlot = [];
for (let i = 0; i < REPEATS; i++) {
  const data = folder('data');
  const api = await start('api', {}, '256m', data);
  const worker = await start('worker', { WORKER_CONCURRENCY: '1', WORKER_QUEUES: 'pages' }, '512m', data);
  const sampled = sampleMemory(worker.container);
  const doc = await ended(api.url, await submit(api.url, 'scan.pdf', scan));
  const { peakBytes, anonBytes } = sampled();
  oneSlot.push({ status: doc.status, peakMiB: inMiB(peakBytes), anonMiB: inMiB(anonBytes) });
  await stop(worker, api);
}
console.log(
  `3. worker at one slot, 12-page scan: ${oneSlot.map((run) => `${run.anonMiB} MiB anonymous (${run.peakMiB} high-water)`).join(', ')}`,
);

// 4. The API under 256 MB: 30 uploads of a 7 MB scan at once (REPEATS times), then 50 of 17 MB.
const sevenMB = await pdfOf(await Promise.all(Array.from({ length: 9 }, (_, i) => scannedPage(300 + i))));
const seventeenMB = await noisePdf();
async function uploads(count: number, data: Buffer) {
  const api = await start('api', { UPLOADS_PER_CLIENT: '64', UPLOAD_MIN_BYTES_PER_SECOND: '0' }, '256m');
  const idle = await api.container.memory();
  const sampled = sampleMemory(api.container);
  const began = Date.now();
  const statuses = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const form = new FormData();
      form.append('file', new Blob([data]), `upload-${i}.pdf`);
      return (await fetch(`${api.url}/v1/jobs`, { method: 'POST', body: form })).status;
    }),
  );
  const seconds = (Date.now() - began) / 1000;
  const { peakBytes, anonBytes } = sampled();
  const alive = api.container.child.exitCode === null;
  await stop(api);
  return {
    uploads: count,
    uploadMiB: Math.round((data.length / MiB) * 10) / 10,
    accepted: statuses.filter((status) => status === 202).length,
    seconds: Math.round(seconds * 10) / 10,
    idleAnonMiB: inMiB(idle.anonBytes),
    anonMiB: inMiB(anonBytes),
    growthMiB: inMiB(anonBytes - idle.anonBytes),
    peakMiB: inMiB(peakBytes),
    alive,
  };
}
const apiRuns = [];
for (let i = 0; i < REPEATS; i++) apiRuns.push(await uploads(30, sevenMB));
apiRuns.push(await uploads(50, seventeenMB));
for (const run of apiRuns) {
  console.log(
    `4. API, ${run.uploads} uploads of ${run.uploadMiB} MiB: ${run.accepted} accepted in ${run.seconds} s, anonymous ${run.idleAnonMiB} → ${run.anonMiB} MiB (+${run.growthMiB}), high-water ${run.peakMiB} MiB of 256${run.alive ? '' : ', KILLED'}`,
  );
}

// 5. Hostile pages, four documents at once, to a worker under 512 MB and one under 256 MB.
const data = folder('data');
const api = await start('api', {}, '256m', data);
const big = await start('worker', {}, '512m', data);
const small = await start('worker', {}, '256m', data);
const samplers = [big, small].map(({ container }) => sampleMemory(container));
const ids = await Promise.all(
  (await hostileDocuments()).map(({ name, data, fields }) => submit(api.url, name, data, fields)),
);
const statuses = [];
for (const id of ids) statuses.push((await ended(api.url, id)).status);
const hostile = await Promise.all(
  [
    [big, 512],
    [small, 256],
  ].map(async ([worker, limit], i) => {
    const { container } = worker as Started;
    const { peakBytes, anonBytes } = samplers[i]?.() ?? { peakBytes: 0, anonBytes: 0 };
    const plan = container.logs.find((line) => line.msg === 'capacity planned');
    return {
      limitMiB: limit as number,
      plan: plan?.queues,
      pages: container.logs.filter((line) => line.msg === 'page completed').length,
      peakMiB: inMiB(peakBytes),
      anonMiB: inMiB(anonBytes),
      oomKilled: container.child.exitCode !== null && (await container.oomKilled()),
    };
  }),
);
await stop(small, big, api);
for (const run of hostile) {
  console.log(
    `5. worker under ${run.limitMiB} MiB: plan ${JSON.stringify(run.plan)}, ${run.pages} pages, anonymous at most ${run.anonMiB} MiB, high-water ${run.peakMiB} MiB${run.oomKilled ? ', OOM-KILLED' : ''}`,
  );
}
console.log(`   documents: ${statuses.join(', ')}`);

await redis.stop();
await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));

const report = {
  machine: { cpus: os.availableParallelism(), memoryBytes: os.totalmem(), podman: await podman(['--version']) },
  at: new Date().toISOString().slice(0, 10),
  buildSeconds: Math.round(buildSeconds),
  images,
  readySeconds: { api: ready.api, worker: ready.worker },
  oneSlot,
  api: apiRuns,
  hostile: { documents: statuses, workers: hostile },
};
await writeFile(path.join(root, 'docs/containers.json'), `${JSON.stringify(report, null, 2)}\n`);
const md = [
  '# Containers',
  '',
  `Measured ${report.at} by \`npm run bench:containers\` on ${report.machine.cpus} CPUs with ${report.machine.podman}: the Dockerfile's images built (${report.buildSeconds} s, with podman's layer cache) and run as containers on the host's network, read-only but for their /data and /tmp volumes, under \`--memory\` limits (swap included). Memory is read from each container's cgroup: its high-water mark counts the page cache of the files it writes (a container that writes more than its limit reaches it, and the kernel reclaims cache instead of killing), so the anonymous memory of its processes is given beside it, sampled every 200 ms.`,
  '',
  '## Images',
  '',
  '| image | size |',
  '|---|---|',
  ...images.map((image) => `| \`${image.image}\` | ${image.sizeMiB} MiB |`),
  '',
  `Seconds from \`podman run\` to \`/ready\` answering 200 (${REPEATS} runs): API ${ready.api.map((s) => s.toFixed(1)).join(', ')}; worker ${ready.worker.map((s) => s.toFixed(1)).join(', ')}.`,
  '',
  '## A worker at one slot, the same 12-page scan',
  '',
  '| run | anonymous memory at most | cgroup high-water mark (limit 512 MiB) | document |',
  '|---|---|---|---|',
  ...oneSlot.map((run, i) => `| ${i + 1} | ${run.anonMiB} MiB | ${run.peakMiB} MiB | ${run.status} |`),
  '',
  '## The API under 256 MiB, uploads at once',
  '',
  '| uploads | each | accepted | seconds | anonymous idle → at most | growth | cgroup high-water mark |',
  '|---|---|---|---|---|---|---|',
  ...apiRuns.map(
    (run) =>
      `| ${run.uploads} | ${run.uploadMiB} MiB | ${run.accepted} | ${run.seconds} | ${run.idleAnonMiB} → ${run.anonMiB} MiB | +${run.growthMiB} MiB | ${run.peakMiB} MiB${run.alive ? '' : ' (killed)'} |`,
  ),
  '',
  '## Hostile pages, four documents at once',
  '',
  `A 7000-pixel-wide poster scan, a 20000×20000 PNG, a PDF page with a 200-inch MediaBox (forceOcr) and a 6-page scan, submitted at once to a worker under 512 MiB and one under 256 MiB; each plans its slots from its cgroup's limit. Documents: ${statuses.join(', ')}.`,
  '',
  '| limit | slots planned | pages read | anonymous memory at most | cgroup high-water mark | OOM-killed |',
  '|---|---|---|---|---|---|',
  ...hostile.map(
    (run) =>
      `| ${run.limitMiB} MiB | \`${JSON.stringify(run.plan)}\` | ${run.pages} | ${run.anonMiB} MiB | ${run.peakMiB} MiB | ${run.oomKilled ? 'yes' : 'no'} |`,
  ),
  '',
].join('\n');
await writeFile(path.join(root, 'docs/containers.md'), md);
console.log('\nwrote docs/containers.json, docs/containers.md');

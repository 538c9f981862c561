import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DocumentState } from '@pagefleet/shared';
import { kill, startApp, type AppProcess } from '../scripts/lib/apps.js';
import { pdfOf, textPage } from '../scripts/lib/fixtures.js';
import { fillRedis, startRedisServer, type RedisServer } from '../scripts/lib/redis-server.js';
import { scrape, valueOf } from './support/prometheus.js';
import { finished, startStack, type Stack } from './support/stack.js';

/** How long Redis stays full: past a lock (8 s) and many page backoffs. */
const FULL_MS = 12_000;

/** A worker's log during the outage stays this small (it spun at ~3,000 errors a second before). */
const MAX_LOG_LINES = 60;

const lines = async (file: string) => (await readFile(file, 'utf8')).split('\n').filter(Boolean).length;

// `maxmemory` reached under `noeviction`: Redis answers reads and refuses every write (OOM).
describe('Redis full (maxmemory, noeviction): an outage, not a failure', () => {
  let dir: string;
  let redis: RedisServer;
  let stack: Stack;
  let worker: AppProcess;
  let logFile: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-full-'));
    redis = await startRedisServer(dir, false);
    stack = await startStack({ REDIS_URL: redis.url });
    logFile = path.join(dir, 'worker.log');
    worker = startApp('worker', stack.workerEnv({ LOG_LEVEL: 'info', WORKER_CONCURRENCY: '1' }), {
      logFile,
      source: 'src',
    });
  });
  after(async () => {
    await kill(worker);
    await stack.stop();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('no page fails, submissions 503, reads answer, /ready 503, the log stays small; all completes once memory is freed', async () => {
    const port = Number((await worker.waitForLog((line) => line.msg === 'worker metrics and probes listening')).port);
    const pages = await Promise.all(
      Array.from({ length: 6 }, (_, i) => textPage([`Page ${i + 1} read around a full Redis.`])),
    );
    const response = await stack.submit([{ name: 'scan.pdf', data: await pdfOf(pages) }]);
    const { id } = (await response.json()) as { id: string };
    await stack.waitFor(id, (doc) => doc.pagesDone >= 1);

    const empty = await fillRedis(redis.url);
    const linesBefore = await lines(logFile);
    const until = Date.now() + FULL_MS;
    let checks = 0;
    while (Date.now() < until) {
      const refused = await stack.submit([{ name: 'a.png', data: pages[0] as Buffer }]);
      assert.equal(refused.status, 503);
      assert.match(refused.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.ok(Number(refused.headers.get('retry-after')) > 0);
      const state = await fetch(`${stack.url}/v1/jobs/${id}`);
      assert.equal(state.status, 200, 'reads answer what Redis can still read');
      assert.equal(((await state.json()) as DocumentState).pagesFailed, 0);
      assert.equal((await fetch(`${stack.url}/v1/jobs/${id}/result`)).status, 200);
      assert.equal((await fetch(`${stack.url}/ready`)).status, 503);
      assert.equal((await fetch(`http://127.0.0.1:${port}/ready`)).status, 503);
      checks++;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    assert.ok(checks >= 5);
    const outageLines = (await lines(logFile)) - linesBefore;
    assert.ok(outageLines <= MAX_LOG_LINES, `${outageLines} log lines in ${FULL_MS} ms of refused writes`);
    const refusals = valueOf(await scrape(`http://127.0.0.1:${port}`), 'pagefleet_redis_write_refusals_total');
    assert.ok(refusals > 0, 'the worker counted refused writes');
    assert.ok(valueOf(await scrape(stack.url), 'pagefleet_redis_write_refusals_total') > 0, 'and the API');

    await empty();
    const doc = await stack.waitFor(id, finished, 90_000);
    assert.equal(doc.status, 'completed', 'the document job ended it too');
    assert.equal(doc.pagesDone, 6);
    assert.equal(doc.pagesFailed, 0);
    assert.match(await (await fetch(`${stack.url}/v1/jobs/${id}/text`)).text(), /Page 6 read around a full Redis/);
    const again = await stack.submit([{ name: 'a.png', data: pages[0] as Buffer }]);
    assert.equal(again.status, 202);
    const next = (await again.json()) as { id: string };
    assert.equal((await stack.waitFor(next.id, finished)).status, 'completed');
  });
});

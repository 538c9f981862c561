import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, statfs } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { uploadsDir, warnUnlessNoEviction } from '@pagefleet/shared';
import { freePort, startRedisServer, type RedisServer } from '../scripts/lib/redis-server.js';
import { slowPdf, textPage, tiffOf } from '../scripts/lib/fixtures.js';
import { startS3Server, type S3Server } from '../scripts/lib/s3-server.js';
import { kill, startApp } from '../scripts/lib/apps.js';
import { startRedis, type TestRedis } from './support/redis.js';
import type { RunningWorker } from '../apps/worker/src/workers.js';
import { scrape, valueOf } from './support/prometheus.js';
import { finished, startStack, type Stack } from './support/stack.js';

/** `/ready` answers 503, naming the failing check. */
async function expectNotReady(stack: Stack, failing: RegExp): Promise<void> {
  const ready = await fetch(`${stack.url}/ready`);
  assert.equal(ready.status, 503);
  assert.match(((await ready.json()) as { detail: string }).detail, failing);
}

/** A submission is refused for now: 503 problem+json with Retry-After, and its upload removed. */
async function expectRetryLater(stack: Stack, page: Buffer): Promise<void> {
  const refused = await stack.submit([{ name: 'a.png', data: page }]);
  assert.equal(refused.status, 503);
  assert.match(refused.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.ok(Number(refused.headers.get('retry-after')) > 0);
  assert.deepEqual(await readdir(uploadsDir(stack.config.DATA_DIR)), [], 'the refused upload was removed');
}

// These tests stop and restart a redis-server of their own, whatever REDIS_URL says.
describe('Redis goes away and comes back', () => {
  let dir: string;
  let redis: RedisServer;
  let stack: Stack;
  let page: Buffer;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-outage-'));
    // Persistent, as in production: what was queued is still there after the restart.
    redis = await startRedisServer(dir, true);
    stack = await startStack({ REDIS_URL: redis.url });
    await stack.startWorker();
    page = await textPage(['Written before the outage.', 'Read while Redis was away.']);
  });
  after(async () => {
    await stack.stop();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('while Redis is down: not ready, submissions 503 with Retry-After, finished jobs still readable; after: all resumes', async () => {
    const response = await stack.submit([{ name: 'a.png', data: page }]);
    const { id } = (await response.json()) as { id: string };
    assert.equal((await stack.waitFor(id, finished)).status, 'completed');

    await redis.stop();
    await expectNotReady(stack, /redis/);
    await expectRetryLater(stack, page);

    const state = await fetch(`${stack.url}/v1/jobs/${id}`);
    assert.equal(state.status, 200);
    assert.equal(((await state.json()) as { status: string }).status, 'completed');
    assert.match(await (await fetch(`${stack.url}/v1/jobs/${id}/text`)).text(), /before the outage/);
    const unknown = await fetch(`${stack.url}/v1/jobs/00000000-0000-4000-8000-000000000000`);
    assert.equal(unknown.status, 503, 'a job not on disk cannot be answered for while Redis is away');

    redis = await startRedisServer(dir, true, Number(new URL(redis.url).port));
    const until = Date.now() + 30_000;
    while ((await fetch(`${stack.url}/ready`)).status !== 200) {
      assert.ok(Date.now() < until, 'the API is ready again without a restart');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const again = await stack.submit([{ name: 'a.png', data: page }]);
    assert.equal(again.status, 202);
    const doc = await stack.waitFor(((await again.json()) as { id: string }).id, finished);
    assert.equal(doc.status, 'completed', 'the worker took the new page without a restart');
  });

  test('a worker started while Redis is down waits for it, then works', async () => {
    await redis.stop();
    const app = startApp('worker', { ...stack.env, LOG_LEVEL: 'info' }, { source: 'src' });
    try {
      await app.waitForLog((line) => line.msg === 'redis connection error');
      assert.equal(app.child.exitCode, null, 'still running');
      redis = await startRedisServer(dir, true, Number(new URL(redis.url).port));
      await app.waitForLog((line) => line.msg === 'worker started');
      // The API reconnects on its own backoff; until then it answers 503, as it should.
      const until = Date.now() + 30_000;
      while ((await fetch(`${stack.url}/ready`)).status !== 200) {
        assert.ok(Date.now() < until, 'the API is ready again without a restart');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const response = await stack.submit([{ name: 'a.png', data: page }]);
      assert.equal(response.status, 202);
      const { id } = (await response.json()) as { id: string };
      assert.equal((await stack.waitFor(id, finished)).status, 'completed');
    } finally {
      await kill(app);
    }
  });

  test('a Redis that may evict keys is warned about', async () => {
    const client = new Redis(redis.url);
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    try {
      await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
      assert.equal(await warnUnlessNoEviction(client, log), 'allkeys-lru');
      assert.match(lines.join(''), /maxmemory-policy is not noeviction/);
      await client.config('SET', 'maxmemory-policy', 'noeviction');
      lines.length = 0;
      assert.equal(await warnUnlessNoEviction(client, log), 'noeviction');
      assert.deepEqual(lines, []);
    } finally {
      client.disconnect();
    }
  });
});

/** A request that must answer, whatever the answer, within the 5 s a client can be asked to wait. */
const answered = (url: string, init: RequestInit = {}) => fetch(url, { ...init, signal: AbortSignal.timeout(5000) });

// SIGSTOP is what a stuck primary, a long fork or a network black hole looks like: connections
// stay open and nothing answers.
describe('Redis frozen, not dead (SIGSTOP)', () => {
  let dir: string;
  let redis: RedisServer;
  let stack: Stack;
  let worker: RunningWorker;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-frozen-'));
    redis = await startRedisServer(dir, false);
    // Short locks, so that a pause of a few seconds outlasts them.
    stack = await startStack({
      REDIS_URL: redis.url,
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
      HEARTBEAT_INTERVAL_MS: '500',
      MAX_STALLED_COUNT: '0',
    });
    worker = await stack.startWorker();
  });
  after(async () => {
    redis.child.kill('SIGCONT');
    await stack.stop();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('requests answer within 5 s, finished jobs from storage; after: the page in flight is not taken for a death', async () => {
    const page = await textPage(['Finished before Redis froze.', 'Still readable while it is.']);
    const done = (await (await stack.submit([{ name: 'a.png', data: page }])).json()) as { id: string };
    assert.equal((await stack.waitFor(done.id, finished)).status, 'completed');
    // About 17 s in pdftoppm at 300 dpi: still being rendered when Redis wakes and the page is
    // taken over, so the attempt that records it is the one that runs after the stall.
    const slow = (await (await stack.submit([{ name: 'slow.pdf', data: slowPdf(5) }], { dpi: '300' })).json()) as {
      id: string;
    };
    await stack.waitFor(slow.id, (doc) => doc.status === 'processing');

    const frozenAt = Date.now();
    redis.child.kill('SIGSTOP');
    try {
      const [submitted, state, text, ready, metrics, workers] = await Promise.all([
        stack.submit([{ name: 'a.png', data: page }]),
        answered(`${stack.url}/v1/jobs/${done.id}`),
        answered(`${stack.url}/v1/jobs/${done.id}/text`),
        answered(`${stack.url}/ready`),
        answered(`${stack.url}/metrics`),
        answered(`${stack.url}/v1/workers`),
      ]);
      assert.ok(Date.now() - frozenAt < 5000, 'every request answered within 5 s');
      assert.equal(submitted.status, 503);
      assert.match(submitted.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.ok(Number(submitted.headers.get('retry-after')) > 0);
      assert.equal(state.status, 200);
      assert.equal(((await state.json()) as { status: string }).status, 'completed');
      assert.match(await text.text(), /Finished before Redis froze/);
      assert.equal(ready.status, 503);
      assert.equal(metrics.status, 200);
      assert.doesNotMatch(await metrics.text(), /^pagefleet_queue_jobs\{/m, 'queue depth is absent, not stale');
      assert.equal(workers.status, 503);
      assert.deepEqual(await readdir(uploadsDir(stack.config.DATA_DIR)), [], 'the refused upload was removed');
      // Frozen past the lock (2 s) and a few stall checks: the slow page's lock expires.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, frozenAt + 6000 - Date.now())));
    } finally {
      redis.child.kill('SIGCONT');
    }

    const doc = await stack.waitFor(slow.id, finished);
    assert.equal(doc.status, 'completed', 'MAX_STALLED_COUNT=0: one death would have failed it');
    const samples = await scrape(`http://127.0.0.1:${worker.port}`);
    assert.ok(
      valueOf(samples, 'pagefleet_pages_stalled_total', { queue: 'pages' }) >= 1,
      'the freeze outlasted the lock',
    );
    const result = (await (await answered(`${stack.url}/v1/jobs/${slow.id}/result`)).json()) as {
      pages: Array<{ dpi: number; status: string }>;
    };
    assert.equal(result.pages[0]?.dpi, 300, 'read again at the DPI asked for, not at half of it');
  });
});

describe('object storage goes away and comes back (STORAGE=s3)', () => {
  let stack: Stack;
  let restarted: S3Server | undefined;
  let page: Buffer;
  before(async () => {
    // Backoff long enough that a page's attempts outlast a short outage.
    stack = await startStack({ PAGE_BACKOFF_MS: '1000', PAGE_ATTEMPTS: '5' }, 's3');
    await stack.startWorker();
    page = await textPage(['Stored in a bucket.', 'Read while the bucket was away.']);
  });
  after(async () => {
    await stack.stop();
    await restarted?.stop();
  });

  test('submissions 503 with Retry-After, not ready, pages in flight retry; after: all resumes, nothing crashed', async () => {
    const s3 = stack.s3 as S3Server;
    const before = (await (await stack.submit([{ name: 'a.png', data: page }])).json()) as { id: string };
    assert.equal((await stack.waitFor(before.id, finished)).status, 'completed');

    const inFlight = (await (
      await stack.submit([{ name: 'b.tif', data: await tiffOf([page, page, page]) }])
    ).json()) as {
      id: string;
    };
    await s3.stop();
    await expectNotReady(stack, /storage/);
    await expectRetryLater(stack, page);
    // Status is in Redis; what is stored in the bucket is 503, not 500, while it is away.
    assert.equal((await fetch(`${stack.url}/v1/jobs/${before.id}`)).status, 200);
    const text = await fetch(`${stack.url}/v1/jobs/${before.id}/text`);
    assert.equal(text.status, 503);
    assert.match(text.headers.get('content-type') ?? '', /^application\/problem\+json/);

    await new Promise((resolve) => setTimeout(resolve, 2000));
    restarted = await startS3Server(s3.dir, s3.env.S3_BUCKET ?? '', s3.port);
    const doc = await stack.waitFor(inFlight.id, finished);
    assert.deepEqual([doc.status, doc.pagesDone], ['completed', 3], 'the pages in flight were retried, none lost');
    const again = await stack.submit([{ name: 'a.png', data: page }]);
    assert.equal(again.status, 202);
    const next = await stack.waitFor(((await again.json()) as { id: string }).id, finished);
    assert.equal(next.status, 'completed');
    assert.match(await (await fetch(`${stack.url}/v1/jobs/${before.id}/text`)).text(), /Stored in a bucket/);
  });
});

describe('the disk refuses a write', () => {
  let redisTest: TestRedis;
  let dataDir: string;
  before(async () => {
    redisTest = await startRedis();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-disk-'));
  });
  after(async () => {
    await redisTest.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('an upload that cannot be written gets 507, leaves no partial file, and the API keeps serving', async (t) => {
    if (spawnSync('prlimit', ['--version']).status !== 0) {
      t.skip('prlimit (util-linux) is not installed');
      return;
    }
    // RLIMIT_FSIZE makes every write past 256 KiB fail with EFBIG, as a full disk fails with ENOSPC.
    const port = await freePort();
    const env = {
      REDIS_URL: redisTest.url,
      DATA_DIR: dataDir,
      PORT: String(port),
      QUEUE_PREFIX: 'disk',
      LOG_LEVEL: 'info',
    };
    const app = startApp('api', env, { wrapper: ['prlimit', `--fsize=${256 * 1024}`], source: 'src' });
    try {
      await app.waitForLog((line) => line.msg === 'api listening');
      const form = new FormData();
      form.append('file', new Blob([Buffer.alloc(1024 * 1024, 1)]), 'big.png');
      const response = await fetch(`http://127.0.0.1:${port}/v1/jobs`, { method: 'POST', body: form });
      assert.equal(response.status, 507);
      assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal(((await response.json()) as { code: string }).code, 'storage_full');
      assert.deepEqual(await readdir(uploadsDir(dataDir)), [], 'the partial file was removed');
      assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
      assert.equal(app.child.exitCode, null);
    } finally {
      await kill(app);
    }
  });
});

// A real full filesystem: a tmpfs of its own, filled to the last byte (mounting needs root; the
// test is skipped without it).
describe('the disk fills up', () => {
  let mountPoint: string;
  let mounted = false;
  before(async () => {
    mountPoint = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-full-'));
    mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mountPoint]).status === 0;
  });
  after(async () => {
    if (mounted) spawnSync('umount', ['-l', mountPoint]);
    await rm(mountPoint, { recursive: true, force: true });
  });

  test('accepted documents end (pages fail with reason storage, end event, webhook), /ready is 503; room again: work completes', async (t) => {
    if (!mounted) {
      t.skip('cannot mount a tmpfs here (needs root)');
      return;
    }
    let hooked: (body: string) => void = () => undefined;
    const webhook = new Promise<string>((resolve) => (hooked = resolve));
    const receiver = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        res.writeHead(200).end();
        hooked(body);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const stack = await startStack({
      DATA_DIR: mountPoint,
      MIN_FREE_DISK: '4Mi',
      WEBHOOK_SECRET: 'a secret of sixteen characters at least',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      PAGE_ATTEMPTS: '2',
    });
    const filler = path.join(mountPoint, 'filler');
    try {
      const pages = await Promise.all(
        [['Accepted before the disk filled.'], ['Its pages find no room.']].map(textPage),
      );
      const accepted = await stack.submit(
        pages.map((data, i) => ({ name: `${i}.png`, data })),
        { callbackUrl },
      );
      assert.equal(accepted.status, 202);
      const { id } = (await accepted.json()) as { id: string };
      // Every byte taken: dd stops at ENOSPC.
      spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M']);
      assert.equal((await statfs(mountPoint)).bavail, 0, 'the disk is full');

      await expectNotReady(stack, /disk/);
      const refused = await stack.submit([{ name: 'a.png', data: pages[0] as Buffer }]);
      assert.equal(refused.status, 507);
      assert.equal(((await refused.json()) as { code: string }).code, 'storage_full');

      await stack.startWorker();
      const doc = await stack.waitFor(id, finished);
      assert.equal(doc.status, 'failed');
      const result = (await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).json()) as {
        pages: Array<{ status: string; reason?: string; error?: string }>;
      };
      assert.deepEqual(
        result.pages.map((page) => [page.status, page.reason]),
        [
          ['failed', 'storage'],
          ['failed', 'storage'],
        ],
      );
      const events = await (await fetch(`${stack.url}/v1/jobs/${id}/events`)).text();
      assert.match(events, /event: end/);
      assert.equal((JSON.parse(await webhook) as { status: string }).status, 'failed', 'the webhook was sent');

      await rm(filler);
      const until = Date.now() + 10_000;
      while ((await fetch(`${stack.url}/ready`)).status !== 200) {
        assert.ok(Date.now() < until, 'ready again once there is room, without a restart');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const again = await stack.submit([{ name: 'a.png', data: pages[0] as Buffer }]);
      assert.equal(again.status, 202);
      const next = await stack.waitFor(((await again.json()) as { id: string }).id, finished);
      assert.equal(next.status, 'completed');
    } finally {
      await rm(filler, { force: true });
      await stack.stop();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});

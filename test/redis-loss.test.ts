import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { QUEUES, type DocumentState, type PageResult, type WebhookPayload } from '@pagefleet/shared';
import type { RunningWorker } from '../apps/worker/src/workers.js';
import { pdfOf, textPage } from '../scripts/lib/fixtures.js';
import { askRedis, startRedisServer, type RedisServer } from '../scripts/lib/redis-server.js';
import { collect, readSse } from '../scripts/lib/sse.js';
import { until } from '../scripts/lib/until.js';
import { finished, startStack, STORAGES, type Stack } from './support/stack.js';
import { startReceiver } from './support/webhook-receiver.js';

const SECRET = 'webhook-secret-for-redis-loss';

/** Every route of a finished document answers as it did before Redis lost it. */
async function expectReadable(stack: Stack, id: string, text: RegExp): Promise<void> {
  const state = await fetch(`${stack.url}/v1/jobs/${id}`);
  assert.equal(state.status, 200);
  assert.equal(((await state.json()) as DocumentState).status, 'completed');
  const result = (await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).json()) as { pages: PageResult[] };
  assert.match(result.pages[0]?.text ?? '', text);
  assert.match(await (await fetch(`${stack.url}/v1/jobs/${id}/text`)).text(), text);
  const page = await fetch(`${stack.url}/v1/jobs/${id}/pages/1?format=hocr`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /ocr_page/);
  const pdf = await fetch(`${stack.url}/v1/jobs/${id}/pdf`);
  assert.equal(pdf.status, 200);
  assert.equal(
    Buffer.from(await pdf.arrayBuffer())
      .subarray(0, 5)
      .toString(),
    '%PDF-',
  );
  const events = await collect(readSse(await fetch(`${stack.url}/v1/jobs/${id}/events`)));
  assert.equal(events.at(-1)?.event, 'end');
}

// Redis that forgets: a restart without persistence, a failover that lost the last writes, an
// operator's FLUSHALL, eviction. Each storage, because the saved state is what answers.
for (const storage of STORAGES) {
  describe(`Redis loses its data (FLUSHALL, ${storage}): the stored objects are the record`, () => {
    let dir: string;
    let redis: RedisServer;
    let stack: Stack;
    let worker: RunningWorker;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    const flushAll = () => askRedis(redis.url, (client) => client.flushall());
    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-flush-'));
      redis = await startRedisServer(dir, false);
      stack = await startStack(
        { REDIS_URL: redis.url, WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: 'true', WORKER_CONCURRENCY: '1' },
        storage,
      );
      worker = await stack.startWorker();
      receiver = await startReceiver([]);
    });
    after(async () => {
      await receiver.close();
      await stack.stop();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    });

    test('finished documents answer every route; the running one ends with its event and webhook; a worker restart deletes nothing', async () => {
      const finishedIds: string[] = [];
      for (const line of ['Finished before the flush.', 'Also read before it.']) {
        const response = await stack.submit([{ name: 'a.png', data: await textPage([line]) }], {
          outputs: 'text,json,hocr,pdf',
        });
        const { id } = (await response.json()) as { id: string };
        assert.equal((await stack.waitFor(id, finished)).status, 'completed');
        finishedIds.push(id);
      }
      const pages = await Promise.all(
        Array.from({ length: 6 }, (_, i) => textPage([`Page ${i + 1} of a long scan.`, 'Read one at a time.'])),
      );
      const running = await stack.submit([{ name: 'long.pdf', data: await pdfOf(pages) }], {
        callbackUrl: receiver.url,
      });
      const { id } = (await running.json()) as { id: string };
      const stream = readSse(await fetch(`${stack.url}/v1/jobs/${id}/events`));
      const before = await stack.waitFor(id, (doc) => doc.pagesDone >= 2);
      assert.ok(before.pagesDone < 6, 'the document is still running');

      await flushAll();
      const [first, second] = finishedIds as [string, string];
      await expectReadable(stack, first, /Finished before the flush/);
      await expectReadable(stack, second, /Also read before it/);

      const events = await collect(stream, (message) => message.event === 'end' || message.event === 'error');
      const end = events.at(-1);
      assert.equal(end?.event, 'end', 'the open stream ends with the document');
      const ended = JSON.parse(end?.data ?? '{}') as DocumentState;
      assert.equal(ended.status, 'partial');
      assert.ok(ended.pagesDone >= before.pagesDone, 'pages stored before the loss keep their results');
      assert.equal(ended.pagesDone + ended.pagesFailed, 6);
      const result = (await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).json()) as { pages: PageResult[] };
      for (const page of result.pages) {
        if (page.status === 'completed') assert.match(page.text, new RegExp(`Page ${page.page} of a long scan`));
        else assert.equal(page.reason, 'lost');
      }
      const [delivery] = await receiver.waitFor(1);
      assert.equal((JSON.parse(delivery?.body ?? '{}') as WebhookPayload).status, 'partial');

      // A deploy: the worker restarts, and its cleanup runs every second.
      const storedBefore = await Promise.all([...finishedIds, id].map((each) => stack.stored(each)));
      await worker.close(10_000);
      worker = await stack.startWorker({ CLEANUP_INTERVAL_MS: '1000' });
      const maintenance = new Queue(QUEUES.maintenance, {
        connection: { url: redis.url },
        prefix: stack.config.QUEUE_PREFIX,
      });
      try {
        await until('the cleanup has run twice', async () =>
          ((await maintenance.getJobCounts('completed')).completed ?? 0) >= 2 ? true : undefined,
        );
      } finally {
        await maintenance.close();
      }
      const storedAfter = await Promise.all([...finishedIds, id].map((each) => stack.stored(each)));
      assert.deepEqual(storedAfter, storedBefore, 'nothing that has not expired is deleted');
      await expectReadable(stack, first, /Finished before the flush/);
    });

    test('with no worker running, a read that misses Redis recovers the document; a worker then ends it', async () => {
      await worker.close(10_000);
      const response = await stack.submit([{ name: 'a.png', data: await textPage(['Queued when Redis forgot.']) }]);
      const { id } = (await response.json()) as { id: string };
      await flushAll();
      const state = await fetch(`${stack.url}/v1/jobs/${id}`);
      assert.equal(state.status, 200);
      assert.equal(((await state.json()) as DocumentState).status, 'processing');
      const documents = new Queue(QUEUES.documents, {
        connection: { url: redis.url },
        prefix: stack.config.QUEUE_PREFIX,
      });
      try {
        assert.ok(await documents.getJob(id), 'the read queued its document job again');
      } finally {
        await documents.close();
      }
      worker = await stack.startWorker();
      const doc = await stack.waitFor(id, finished);
      assert.equal(doc.status, 'failed');
      const result = (await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).json()) as { pages: PageResult[] };
      assert.equal(result.pages[0]?.reason, 'lost');
      assert.match(result.pages[0]?.error ?? '', /submit it again/);
    });
  });
}

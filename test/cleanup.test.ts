import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { documentKeys, QUEUES, readBlob, uploadsDir } from '@pagefleet/shared';
import { textPage } from '../scripts/lib/fixtures.js';
import { until } from '../scripts/lib/until.js';
import { finished, startStack, type Stack } from './support/stack.js';

const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000);

describe('retention: what RESULT_TTL expired is removed by the scheduled cleanup', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ CLEANUP_INTERVAL_MS: '1000' });
    await stack.startWorker();
  });
  after(() => stack.stop());

  async function completedJob(): Promise<string> {
    const response = await stack.submit([{ name: 'a.png', data: await textPage(['Kept until it expires.']) }]);
    const { id } = (await response.json()) as { id: string };
    assert.equal((await stack.waitFor(id, finished)).status, 'completed');
    return id;
  }

  test('the worker schedules the cleanup every CLEANUP_INTERVAL_MS', async () => {
    const queue = new Queue(QUEUES.maintenance, {
      connection: { url: stack.env.REDIS_URL },
      prefix: stack.config.QUEUE_PREFIX,
    });
    try {
      const scheduler = await queue.getJobScheduler('cleanup');
      assert.equal(scheduler?.every, 1000);
    } finally {
      await queue.close();
    }
  });

  test('what an expired document stored and stale uploads go; live documents, forgotten ones and fresh uploads stay', async () => {
    const [expired, live, forgotten] = [await completedJob(), await completedJob(), await completedJob()];
    assert.ok((await stack.stored(expired)).includes('text.txt'));
    const forget = (id: string) =>
      stack.api.redis.del(`${stack.config.QUEUE_PREFIX}:doc:${id}`, `${stack.config.QUEUE_PREFIX}:doc:${id}:pages`);
    // What RESULT_TTL does, done now: the document ended more than RESULT_TTL ago by its saved
    // state, and Redis has expired it.
    const state = documentKeys(expired).state;
    const saved = JSON.parse((await readBlob(stack.api.blobs, state))?.toString('utf8') ?? '{}') as {
      finishedAt: string;
    };
    saved.finishedAt = new Date(Date.now() - (stack.config.RESULT_TTL + 3600) * 1000).toISOString();
    await stack.api.blobs.put(state, JSON.stringify(saved));
    await forget(expired);
    // Redis forgot this one (FLUSHALL, a restart without persistence): its own state says it is kept.
    await forget(forgotten);
    const stale = path.join(uploadsDir(stack.config.DATA_DIR), 'left-by-a-crashed-api');
    const fresh = path.join(uploadsDir(stack.config.DATA_DIR), 'being-received');
    await writeFile(stale, 'partial upload');
    await writeFile(fresh, 'partial upload');
    await utimes(stale, hoursAgo(2), hoursAgo(2));

    await until(
      'the scheduled cleanup removes them',
      async () => ((await stack.stored(expired)).length > 0 || existsSync(stale) ? undefined : true),
      20_000,
    );
    assert.ok((await stack.stored(live)).includes('text.txt'));
    assert.ok((await stack.stored(forgotten)).includes('text.txt'));
    assert.equal((await fetch(`${stack.url}/v1/jobs/${forgotten}`)).status, 200);
    assert.ok(existsSync(fresh));
    assert.equal((await fetch(`${stack.url}/v1/jobs/${expired}`)).status, 404);
    assert.equal((await fetch(`${stack.url}/v1/jobs/${live}`)).status, 200);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pdfOf, textPage } from '../scripts/lib/fixtures.js';
import { askRedis } from '../scripts/lib/redis-server.js';
import { collect, readSse } from '../scripts/lib/sse.js';
import { rung } from './support/bell.js';
import { scrape } from './support/prometheus.js';
import { finished, startStack, type Stack } from './support/stack.js';

/** Every key on every primary of the stack's cluster, with its slot. */
async function clusterKeys(stack: Stack): Promise<Array<{ key: string; slot: number }>> {
  const found: Array<{ key: string; slot: number }> = [];
  for (const address of (stack.env.REDIS_CLUSTER_NODES ?? '').split(',')) {
    await askRedis(`redis://${address}`, async (node) => {
      for (const key of await node.keys('*')) found.push({ key, slot: Number(await node.cluster('KEYSLOT', key)) });
    });
  }
  return found;
}

// The end-to-end tests of jobs.test.ts run against a cluster too; these cover what they do not:
// idempotency keys, event streams, heartbeats and the queue gauges' scripts.
describe('Redis Cluster: three primaries', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({}, 'filesystem', 'cluster');
    await stack.startWorker();
  });
  after(() => stack.stop());

  test('idempotency, events, the worker list and the queue gauges work, and every key lives in one slot', async () => {
    assert.match(stack.config.QUEUE_PREFIX, /^\{test-[0-9a-f-]+\}$/, 'the prefix is a hash tag');
    const pdf = await pdfOf(await Promise.all([textPage(['Clustered first page.']), textPage(['Second page.'])]));
    const headers = { 'idempotency-key': 'cluster-order-1' };
    const first = await stack.submit([{ name: 'doc.pdf', data: pdf }], {}, headers);
    assert.equal(first.status, 202);
    const { id } = (await first.json()) as { id: string };
    // The ledger's scripts publish each event, and the API's subscriber hears them from any primary.
    const door = stack.api.bell.door(id);
    const unrung = new AbortController();
    const timer = setTimeout(() => unrung.abort(), 60_000);
    const ringing = rung(door, unrung.signal);
    const again = await stack.submit([{ name: 'doc.pdf', data: pdf }], {}, headers);
    assert.equal(((await again.json()) as { id: string }).id, id, 'the same Idempotency-Key gives the same job');

    assert.equal(await ringing, true, 'a page event rang the stream');
    clearTimeout(timer);
    door.close();
    const messages = await collect(readSse(await fetch(`${stack.url}/v1/jobs/${id}/events`)));
    assert.equal(messages.at(-1)?.event, 'end');
    assert.equal(messages.filter((message) => message.event === 'page').length, 2);
    const doc = await stack.waitFor(id, finished);
    assert.equal(doc.status, 'completed');
    assert.match(await (await fetch(`${stack.url}/v1/jobs/${id}/text`)).text(), /Clustered first page/);

    const workers = (await (await fetch(`${stack.url}/v1/workers`)).json()) as { workers: unknown[] };
    assert.equal(workers.workers.length, 1);
    const metrics = await scrape(stack.url);
    // Both gauges are absent when their commands fail (a CROSSSLOT script would).
    const sample = (name: string) => metrics.find((each) => each.name === name && each.labels.queue === 'pages');
    assert.equal(sample('pagefleet_queue_jobs')?.value, 0);
    assert.equal(sample('pagefleet_queue_oldest_waiting_seconds')?.value, 0);

    const keys = await clusterKeys(stack);
    const ours = keys.filter(({ key }) => key.startsWith(stack.config.QUEUE_PREFIX));
    assert.ok(ours.length > 10, `${ours.length} keys`);
    assert.deepEqual(ours, keys, 'nothing was written outside the prefix');
    assert.deepEqual([...new Set(ours.map(({ slot }) => slot))].length, 1, 'one slot for every key');
  });
});

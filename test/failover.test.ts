import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { kill, startApp, type AppProcess } from '../scripts/lib/apps.js';
import { pdfOf, textPage } from '../scripts/lib/fixtures.js';
import { startSentinelGroup, type SentinelGroup } from '../scripts/lib/sentinel.js';
import { scrape, valueOf } from './support/prometheus.js';
import { finished, startStack, type Stack } from './support/stack.js';

const PAGES = 4;
const DOCUMENTS = 3;

/** Documents of `PAGES` pages, each page naming its document and number. */
const documentOf = async (name: string) =>
  pdfOf(
    await Promise.all(Array.from({ length: PAGES }, (_, page) => textPage([`Document ${name} page ${page + 1}.`]))),
  );

interface Fleet {
  group: SentinelGroup;
  stack: Stack;
  workers: AppProcess[];
  stop(): Promise<void>;
}

/** A Sentinel group, the API against it, and two worker processes. */
async function startFleet(): Promise<Fleet> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-sentinel-'));
  const group = await startSentinelGroup(dir);
  // Short locks: pages in flight on the dead primary's connections are retried within seconds.
  const stack = await startStack({
    ...group.env,
    LOCK_DURATION_MS: '3000',
    STALLED_INTERVAL_MS: '1500',
    HEARTBEAT_INTERVAL_MS: '1000',
  });
  const workers: AppProcess[] = [];
  for (let index = 0; index < 2; index++) {
    const worker = startApp('worker', stack.workerEnv({ LOG_LEVEL: 'info', WORKER_CONCURRENCY: '1' }), {
      source: 'src',
    });
    workers.push(worker);
    await worker.waitForLog((line) => line.msg === 'worker metrics and probes listening');
  }
  return {
    group,
    stack,
    workers,
    async stop() {
      await Promise.all(workers.map(kill));
      await stack.stop();
      await group.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Submits `DOCUMENTS` documents and resolves with their ids once the first has a page done. */
async function documentsInFlight(stack: Stack, data: Buffer): Promise<string[]> {
  const submitted: string[] = [];
  for (let index = 0; index < DOCUMENTS; index++) {
    const response = await stack.submit([{ name: `before-${index}.pdf`, data }]);
    assert.equal(response.status, 202);
    submitted.push(((await response.json()) as { id: string }).id);
  }
  await stack.waitFor(submitted[0] as string, (doc) => doc.pagesDone > 0 || finished(doc));
  return submitted;
}

/** Every document completed with all its pages. */
async function expectAllCompleted(stack: Stack, ids: string[]): Promise<void> {
  for (const id of ids) {
    const doc = await stack.waitFor(id, finished, 120_000);
    assert.equal(doc.status, 'completed', `${doc.id} completed`);
    assert.equal(doc.pagesDone, PAGES);
  }
  const text = await (await fetch(`${stack.url}/v1/jobs/${ids[0]}/text`)).text();
  for (let page = 1; page <= PAGES; page++) assert.match(text, new RegExp(`page ${page}\\.`));
}

describe('Redis Sentinel: the primary dies mid-document', () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet();
  });
  after(() => fleet.stop());

  test('Sentinel promotes the replica; submissions meanwhile get 503 with Retry-After; every document completes without a restart', async (t) => {
    const { group, stack, workers } = fleet;
    const data = await documentOf('A');
    const submitted = await documentsInFlight(stack, data);

    const killedAt = Date.now();
    const dead = await group.killPrimary();
    const statuses = new Map<number, number>();
    let acceptedAfterMs: number | undefined;
    while (acceptedAfterMs === undefined) {
      assert.ok(Date.now() - killedAt < 60_000, 'a submission is accepted within a minute of the failover');
      // Never a hang: every answer within the API's command timeout and then some.
      const response = await stack.submit([{ name: 'during.pdf', data }], {}, {}, AbortSignal.timeout(10_000));
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status === 202) {
        acceptedAfterMs = Date.now() - killedAt;
        submitted.push(((await response.json()) as { id: string }).id);
        break;
      }
      const problem = await response.text();
      assert.equal(response.status, 503, `refused with ${response.status}: ${problem}`);
      assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.ok(Number(response.headers.get('retry-after')) > 0, 'a 503 says when to retry');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The sentinel that led the failover names the new primary first; the others learn it from it.
    assert.notEqual(await group.promoted(dead, 10_000), dead, 'the sentinels named a new primary');

    const after = await stack.submit([{ name: 'after.pdf', data }]);
    assert.equal(after.status, 202);
    submitted.push(((await after.json()) as { id: string }).id);
    await expectAllCompleted(stack, submitted);

    let stalled = 0;
    for (const worker of workers) {
      const listening = await worker.waitForLog((line) => line.msg === 'worker metrics and probes listening');
      const metrics = await scrape(`http://127.0.0.1:${String(listening.port)}`);
      stalled += valueOf(metrics, 'pagefleet_pages_stalled_total', { queue: 'pages' });
    }
    t.diagnostic(
      `first submission accepted ${acceptedAfterMs} ms after the primary's death; answers meanwhile ${JSON.stringify(Object.fromEntries(statuses))}; pages stalled ${stalled}`,
    );
  });
});

describe('Redis Sentinel: the primary is handed over alive', () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet();
  });
  after(() => fleet.stop());

  test('SENTINEL FAILOVER demotes the primary to a replica: API and workers follow to the new primary, every document completes', async () => {
    const { group, stack } = fleet;
    const data = await documentOf('B');
    const submitted = await documentsInFlight(stack, data);
    const demoted = await group.failover();
    await group.promoted(demoted, 30_000);
    const deadline = Date.now() + 30_000;
    for (;;) {
      assert.ok(Date.now() < deadline, 'a submission is accepted within 30 s of the hand-over');
      const response = await stack.submit([{ name: 'after.pdf', data }], {}, {}, AbortSignal.timeout(10_000));
      if (response.status === 202) {
        submitted.push(((await response.json()) as { id: string }).id);
        break;
      }
      assert.equal(response.status, 503, await response.text());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await expectAllCompleted(stack, submitted);
  });
});

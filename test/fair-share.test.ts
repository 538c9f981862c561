import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { pageJobId, QUEUES, type DocumentState } from '@pagefleet/shared';
import { textPdf } from '../scripts/lib/fixtures.js';
import { kill, startApp, type AppProcess } from '../scripts/lib/apps.js';
import { startRedisServer } from '../scripts/lib/redis-server.js';
import { finished, startStack, type Stack } from './support/stack.js';

const FLOODERS = Array.from({ length: 10 }, (_, i) => `t${i}`);
const NAMES = ['a', 'b', 'heavy', 'late', ...FLOODERS];
const keyOf = (tenant: string) => `${tenant}-key-for-the-fair-share`;
const TENANTS = JSON.stringify(
  NAMES.map((name) => ({ name, keys: [keyOf(name)], ...(name === 'heavy' ? { weight: 2 } : {}) })),
);
const bearer = (tenant: string) => ({ authorization: `Bearer ${keyOf(tenant)}` });

/** A tenant's submission of `count` one-page born-digital documents (fast to read), in order. */
async function submitMany(
  stack: Stack,
  tenant: string,
  count: number,
  fields: Record<string, string> = {},
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const pdf = textPdf([`Page of ${tenant}, number ${i}.`]);
    const response = await stack.submit([{ name: 'doc.pdf', data: pdf }], fields, bearer(tenant));
    assert.equal(response.status, 202, await response.clone().text());
    ids.push(((await response.json()) as { id: string }).id);
  }
  return ids;
}

async function waitAll(stack: Stack, byTenant: Record<string, string[]>, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (const [tenant, ids] of Object.entries(byTenant)) {
    for (const id of ids) {
      for (;;) {
        const response = await fetch(`${stack.url}/v1/jobs/${id}`, { headers: bearer(tenant) });
        const doc = (await response.json()) as DocumentState;
        if (finished(doc)) {
          assert.deepEqual([doc.status, doc.pagesDone], ['completed', 1], `${tenant}'s ${id}`);
          break;
        }
        assert.ok(Date.now() < until, `${tenant}'s ${id} still ${doc.status}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}

/** When a worker last started a one-page document's page. */
async function startOf(stack: Stack, id: string): Promise<number> {
  const job = await stack.api.dispatch.queue(QUEUES.pages).getJob(pageJobId(id, 1));
  const state = job ? await job.getState() : 'missing';
  assert.ok(job?.processedOn, `the page of ${id} was started (${state})`);
  return job.processedOn;
}

/** Documents (each one page) in the order a worker started their page, with the tenant of each. */
async function startOrder(stack: Stack, byTenant: Record<string, string[]>): Promise<string[]> {
  const starts: Array<{ tenant: string; at: number }> = [];
  for (const [tenant, ids] of Object.entries(byTenant)) {
    for (const id of ids) starts.push({ tenant, at: await startOf(stack, id) });
  }
  return starts.sort((x, y) => x.at - y.at).map(({ tenant }) => tenant);
}

const count = (order: string[], tenant: string) => order.filter((name) => name === tenant).length;

/**
 * Every tenant's documents are queued before a worker starts (one slot), so that the order pages
 * are taken in is the fair share's alone. Without it, pages of equal index run first come, first
 * served: the late tenant's page would be the last of all.
 */
describe('fair share between tenants', () => {
  async function withStack(run: (stack: Stack) => Promise<void>, env: Record<string, string> = {}) {
    const stack = await startStack({ TENANTS, ...env });
    try {
      await run(stack);
    } finally {
      await stack.stop();
    }
  }

  test("two tenants flooding and one arriving later: pages alternate, and the late tenant's page is not last", () =>
    withStack(async (stack) => {
      const byTenant = { a: await submitMany(stack, 'a', 20), b: await submitMany(stack, 'b', 20) };
      const all = { ...byTenant, late: await submitMany(stack, 'late', 1) };
      await stack.startWorker({ WORKER_CONCURRENCY: '1' });
      await waitAll(stack, all);
      const order = await startOrder(stack, all);
      assert.ok(order.indexOf('late') <= 2, `the late page started ${order.indexOf('late') + 1}th: ${order.join(' ')}`);
      const first = order.slice(0, 10);
      for (const tenant of ['a', 'b']) {
        assert.ok(count(first, tenant) >= 4, `${tenant} had its share of the first ten: ${first.join(' ')}`);
      }
    }));

  test('ten tenants flooding: each is served within the first round, the late one within a round of its arrival', () =>
    withStack(async (stack) => {
      const byTenant: Record<string, string[]> = {};
      for (const tenant of FLOODERS) byTenant[tenant] = await submitMany(stack, tenant, 6);
      byTenant.late = await submitMany(stack, 'late', 1);
      await stack.startWorker({ WORKER_CONCURRENCY: '1' });
      await waitAll(stack, byTenant);
      const order = await startOrder(stack, byTenant);
      const firstRound = order.slice(0, FLOODERS.length + 1);
      for (const tenant of FLOODERS) assert.ok(firstRound.includes(tenant), `${tenant}: ${order.join(' ')}`);
      assert.ok(order.indexOf('late') <= FLOODERS.length + 1, `late: ${order.join(' ')}`);
    }));

  test('a tenant of weight 2 gets two pages for every one of a tenant of weight 1', () =>
    withStack(async (stack) => {
      const byTenant = { heavy: await submitMany(stack, 'heavy', 24), b: await submitMany(stack, 'b', 24) };
      await stack.startWorker({ WORKER_CONCURRENCY: '1' });
      await waitAll(stack, byTenant);
      const first = (await startOrder(stack, byTenant)).slice(0, 18);
      assert.ok(Math.abs(count(first, 'heavy') - 12) <= 1, `heavy: ${first.join(' ')}`);
    }));

  test("interactive pages go before their tenant's batch pages; the lane is limited per tenant", () =>
    withStack(
      async (stack) => {
        const batch = await submitMany(stack, 'a', 10);
        const interactive = await submitMany(stack, 'a', 1, { priority: 'interactive' });
        const onePage = textPdf(['One.']);
        const threePages = [1, 2, 3].map(() => ({ name: 'doc.pdf', data: onePage }));
        const tooLarge = await stack.submit(threePages, { priority: 'interactive' }, bearer('a'));
        assert.equal(tooLarge.status, 422);
        assert.equal(((await tooLarge.json()) as { code: string }).code, 'too_many_interactive_pages');
        const second = await submitMany(stack, 'a', 1, { priority: 'interactive' });
        const full = await stack.submit([{ name: 'doc.pdf', data: onePage }], { priority: 'interactive' }, bearer('a'));
        assert.equal(full.status, 429);
        assert.equal(full.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        assert.equal(((await full.json()) as { code: string }).code, 'tenant_limit');
        assert.ok(Number(full.headers.get('retry-after')) > 0);
        const other = await stack.submit(
          [{ name: 'doc.pdf', data: onePage }],
          { priority: 'interactive' },
          bearer('b'),
        );
        assert.equal(other.status, 202, "another tenant's lane is its own");
        const otherId = ((await other.json()) as { id: string }).id;

        await stack.startWorker({ WORKER_CONCURRENCY: '1' });
        const byTenant = { batch, interactive: [...interactive, ...second] };
        await waitAll(stack, { a: [...batch, ...interactive, ...second], b: [otherId] });
        const order = await startOrder(stack, byTenant);
        // The first batch page was released before any interactive page was queued.
        assert.deepEqual(order.slice(0, 3).sort(), ['batch', 'interactive', 'interactive'], order.join(' '));
      },
      { TENANT_MAX_INTERACTIVE_PAGES: '2' },
    ));
});

describe('fair share through a worker SIGKILL and a Redis restart', () => {
  test('no page lost, none starved, and a tenant arriving after both is served within a round', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-fair-'));
    let redis = await startRedisServer(dir, true);
    const stack = await startStack({
      REDIS_URL: redis.url,
      TENANTS,
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
      HEARTBEAT_INTERVAL_MS: '500',
    });
    const apps: AppProcess[] = [];
    const worker = () => {
      const app = startApp('worker', stack.workerEnv({ LOG_LEVEL: 'info', WORKER_CONCURRENCY: '1' }), {
        source: 'src',
      });
      apps.push(app);
      return app;
    };
    try {
      const a = await submitMany(stack, 'a', 15);
      const b = await submitMany(stack, 'b', 15);
      let started = 0;
      const first = worker();
      await first.waitForLog((line) => line.msg === 'page started' && ++started >= 4, 60_000);
      await kill(first);

      await redis.stop();
      redis = await startRedisServer(dir, true, Number(new URL(redis.url).port));
      for (const until = Date.now() + 30_000; (await fetch(`${stack.url}/ready`)).status !== 200;) {
        assert.ok(Date.now() < until, 'the API is ready again after the restart');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const arrived = Date.now();
      const late = await submitMany(stack, 'late', 1);
      worker();
      const byTenant = { a, b, late };
      await waitAll(stack, byTenant);

      const lateStart = await startOf(stack, late[0] as string);
      const order = await startOrder(stack, byTenant);
      const starts = await Promise.all([...a, ...b].map((id) => startOf(stack, id)));
      const startsBetween = starts.filter((at) => at >= arrived && at < lateStart).length;
      // Ahead of it at most: the page released before it arrived, and one of each other tenant.
      assert.ok(startsBetween <= 3, `${startsBetween} pages started before the late one: ${order.join(' ')}`);
    } finally {
      await Promise.all(apps.map(kill));
      await stack.stop();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('releases that went wrong', () => {
  const members = async (stack: Stack, key: string) =>
    stack.api.redis.zrange(`${stack.config.QUEUE_PREFIX}:fair:pages:${key}`, '0', '-1');

  test('a tenant whose turn is due has its first page released as it arrives; one flooding alone gets no more than the slots', async () => {
    const stack = await startStack({ TENANTS });
    try {
      const queue = stack.api.dispatch.queue(QUEUES.pages);
      const states = async (ids: string[]) => Promise.all(ids.map((id) => queue.getJobState(pageJobId(id, 1))));
      // No slot anywhere: one page takeable. A's documents arrive one by one, each emptying its
      // list before the next: only the first is released.
      const flood = await submitMany(stack, 'a', 3);
      assert.deepEqual(await states(flood), ['prioritized', 'delayed', 'delayed']);
      // B had nothing queued: its page is next in any case, and takeable at once, past the slots.
      const [newcomer] = await submitMany(stack, 'b', 2);
      assert.deepEqual(await states([newcomer as string]), ['prioritized']);
      assert.equal(await queue.getJobCounts('prioritized', 'delayed').then((counts) => counts.prioritized), 2);
      // A's next document joins its list: held for its turn.
      assert.deepEqual(await states(await submitMany(stack, 'a', 1)), ['delayed']);
    } finally {
      await stack.stop();
    }
  });

  test("a canceled document's held pages are passed over when their turn comes", async () => {
    const stack = await startStack({ TENANTS });
    try {
      const three = [1, 2, 3].map((i) => ({ name: `${i}.pdf`, data: textPdf([`Page ${i}.`]) }));
      const response = await stack.submit(three, {}, bearer('a'));
      const canceled = ((await response.json()) as { id: string }).id;
      const queue = stack.api.dispatch.queue(QUEUES.pages);
      assert.equal(
        await queue.getJobState(pageJobId(canceled, 1)),
        'prioritized',
        'no slot anywhere: one page released',
      );
      assert.equal((await members(stack, 'held:a')).length, 2);
      assert.equal(
        (await fetch(`${stack.url}/v1/jobs/${canceled}`, { method: 'DELETE', headers: bearer('a') })).status,
        204,
      );
      const [other] = await submitMany(stack, 'b', 1);
      const otherPage = pageJobId(other as string, 1);
      assert.equal(await queue.getJobState(otherPage), 'prioritized', "b's turn came before a's next");
      // Its page taken, there is room again: a's turn, whose pages are gone.
      await queue.remove(otherPage);
      assert.equal(await stack.api.dispatch.release(QUEUES.pages), 0, 'nothing left to promote');
      assert.deepEqual(await members(stack, 'held:a'), [], "the canceled pages left a's list");
      assert.deepEqual(await members(stack, 'tenants'), [], 'no tenant has pages held');
      assert.deepEqual(await members(stack, 'releasing'), []);
    } finally {
      await stack.stop();
    }
  });

  test('a page whose releaser died before promoting it is promoted by the next tick', async () => {
    const stack = await startStack({ TENANTS });
    try {
      const [first, second] = await submitMany(stack, 'a', 2);
      const queue = stack.api.dispatch.queue(QUEUES.pages);
      const stranded = pageJobId(second as string, 1);
      assert.equal(await queue.getJobState(stranded), 'delayed');
      // What a releaser leaves when it dies between its script and the promotion: the page taken
      // from its tenant's list and noted as being released, its job still delayed.
      const prefix = `${stack.config.QUEUE_PREFIX}:fair:pages`;
      const [member = ''] = await members(stack, 'held:a');
      assert.ok(member.endsWith(stranded));
      await stack.api.redis.zrem(`${prefix}:held:a`, member);
      await stack.api.redis.zadd(`${prefix}:releasing`, Date.now() - 60_000, stranded);
      await queue.remove(pageJobId(first as string, 1));

      await stack.api.dispatch.tick();
      assert.equal(await queue.getJobState(stranded), 'prioritized');
      assert.deepEqual(await members(stack, 'releasing'), []);
    } finally {
      await stack.stop();
    }
  });
});

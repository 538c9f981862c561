import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DocumentState, PageResult, TenantUsage } from '@pagefleet/shared';
import { scannedPage, wordLines } from '../scripts/lib/fixtures.js';
import { layeredPdf } from '../scripts/lib/text-pdfs.js';
import type { RunningWorker } from '../apps/worker/src/workers.js';
import { finished, startStack, type Stack } from './support/stack.js';

const KEYS = {
  acme: ['acme-first-key-0001', 'acme-rotated-key-002'],
  globex: 'globex-only-key-0003',
  bare: 'a-bare-api-key-00004',
  admin: 'administrator-key-05',
} as const;
const LIMIT = 2;
const MINUTE_MS = 60_000;

describe('tenants: named, several keys each, limits of their own, usage per tenant', () => {
  let stack: Stack;
  let worker: RunningWorker;
  let pdf: Buffer;
  /** Documents accepted, by the tenant that submitted them, with a key of it. */
  const accepted = new Map<string, Array<{ id: string; key: string }>>();
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const get = (path: string, key: string) => fetch(`${stack.url}${path}`, { headers: bearer(key) });
  async function submit(tenant: string, key: string): Promise<Response> {
    const response = await stack.submit([{ name: 'doc.pdf', data: pdf }], { outputs: 'json' }, bearer(key));
    if (response.status === 202) {
      const { id } = (await response.clone().json()) as { id: string };
      accepted.set(tenant, [...(accepted.get(tenant) ?? []), { id, key }]);
    }
    return response;
  }
  async function waitFinished(id: string, key: string): Promise<DocumentState> {
    for (const until = Date.now() + 120_000; Date.now() < until;) {
      const doc = (await (await get(`/v1/jobs/${id}`, key)).json()) as DocumentState;
      if (finished(doc)) return doc;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`job ${id} did not finish`);
  }

  before(async () => {
    stack = await startStack({
      API_KEYS: KEYS.bare,
      ADMIN_API_KEYS: KEYS.admin,
      TENANTS: JSON.stringify([
        { name: 'acme', keys: KEYS.acme, documentsPerMinute: LIMIT },
        { name: 'globex', keys: [KEYS.globex] },
      ]),
    });
    worker = await stack.startWorker();
    // A born-digital page and a scan: one read from its layer, one OCRed.
    pdf = await layeredPdf([
      { kind: 'text', lines: wordLines(1, 10) },
      { kind: 'scan', image: await scannedPage(2) },
    ]);
  });
  after(() => stack.stop());

  test("a tenant's documents are seen with any of its keys (rotation keeps them), by no other tenant", async () => {
    const response = await submit('acme', KEYS.acme[0]);
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };
    assert.equal((await waitFinished(id, KEYS.acme[1])).status, 'completed');
    assert.equal((await get(`/v1/jobs/${id}/result`, KEYS.acme[1])).status, 200);
    for (const other of [KEYS.globex, KEYS.bare]) assert.equal((await get(`/v1/jobs/${id}`, other)).status, 404);
  });

  test("past its documents per minute a tenant gets 429 with Retry-After, unread; another tenant's are untouched", async () => {
    // The limit counts the clock's minute: a run that crosses into the next minute starts over.
    for (let run = 0; ; run++) {
      assert.ok(run < 3, 'three runs crossed a minute');
      const window = Math.floor(Date.now() / MINUTE_MS);
      // Requests that end in no document give their slot back: were they counted, the next
      // submission would already be past the limit.
      for (const dpi of ['many', 'few']) {
        const bad = await stack.submit([{ name: 'doc.pdf', data: pdf }], { dpi }, bearer(KEYS.acme[1]));
        assert.equal(bad.status, 400);
      }
      const statuses: number[] = [];
      let refused: Response | undefined;
      for (let i = 0; i <= LIMIT && !refused; i++) {
        const response = await submit('acme', KEYS.acme[1]);
        statuses.push(response.status);
        if (response.status === 429) refused = response;
      }
      const others = [await submit('globex', KEYS.globex), await submit('bare', KEYS.bare)];
      if (Math.floor(Date.now() / MINUTE_MS) !== window) continue;
      assert.ok(refused, `no 429 in ${LIMIT + 1} submissions: ${statuses.join(', ')}`);
      assert.equal(statuses[0], 202, 'the refused requests were not counted');
      assert.match(refused.headers.get('content-type') ?? '', /^application\/problem\+json/);
      const problem = (await refused.json()) as { code: string; detail: string };
      assert.equal(problem.code, 'tenant_limit');
      assert.match(problem.detail, /acme/);
      const retryAfter = Number(refused.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, String(retryAfter));
      assert.deepEqual(
        others.map((response) => response.status),
        [202, 202],
      );
      return;
    }
  });

  test("usage: each tenant's pages by method and engine and its worker time; every tenant's for an administrator; names in the metrics, never keys", async () => {
    // What each tenant had read: its documents' own results, page by page.
    const read = new Map<string, PageResult[]>();
    for (const [tenant, docs] of accepted) {
      for (const { id, key } of docs) {
        assert.equal((await waitFinished(id, key)).status, 'completed');
        const { pages } = (await (await get(`/v1/jobs/${id}/result`, key)).json()) as { pages: PageResult[] };
        read.set(tenant, [...(read.get(tenant) ?? []), ...pages]);
      }
    }
    const count = (pages: PageResult[], method: string) => pages.filter((page) => page.method === method).length;
    const acmePages = read.get('acme') ?? [];
    // Usage is added as each attempt ends, beside the page's result: wait for the last of it.
    let usage: TenantUsage | undefined;
    for (let i = 0; i < 100 && usage?.pages !== acmePages.length; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      usage = (await (await get('/v1/usage', KEYS.acme[1])).json()) as TenantUsage;
    }
    assert.ok(usage);
    assert.equal(usage.tenant, 'acme');
    assert.equal(usage.pages, acmePages.length);
    assert.deepEqual(usage.byMethod, { text: count(acmePages, 'text'), ocr: count(acmePages, 'ocr') });
    assert.deepEqual(usage.byEngine, { tesseract: count(acmePages, 'ocr') });
    assert.ok(usage.workerSeconds > 0);

    assert.equal((await get('/v1/usage/tenants', KEYS.acme[0])).status, 403);
    const { tenants } = (await (await get('/v1/usage/tenants', KEYS.admin)).json()) as { tenants: TenantUsage[] };
    const byName = new Map(tenants.map((tenant) => [tenant.tenant, tenant]));
    assert.equal(byName.get('acme')?.pages, acmePages.length);
    assert.equal(byName.get('globex')?.pages, read.get('globex')?.length);
    const bare = tenants.find((tenant) => /^key-[0-9a-f]{12}$/.test(tenant.tenant));
    assert.equal(bare?.pages, read.get('bare')?.length, tenants.map((tenant) => tenant.tenant).join(', '));

    const metrics = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
    const metric = (labels: string) =>
      Number(new RegExp(`^pagefleet_tenant_pages_total\\{${labels}\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    assert.equal(metric('tenant="acme",method="text",engine="none"'), count(acmePages, 'text'));
    assert.equal(metric('tenant="acme",method="ocr",engine="tesseract"'), count(acmePages, 'ocr'));
    assert.match(metrics, /^pagefleet_tenant_worker_seconds_total\{tenant="globex"\} [\d.e-]+$/m);
    for (const key of [...KEYS.acme, KEYS.globex, KEYS.bare, KEYS.admin]) assert.ok(!metrics.includes(key));
  });
});

describe("tenants' queued pages", () => {
  let stack: Stack;
  const keys = { initech: 'initech-key-0000006', globex: 'globex-key-00000007' };
  before(async () => {
    stack = await startStack({
      TENANTS: JSON.stringify([
        { name: 'initech', keys: [keys.initech], maxQueuedPages: 3 },
        { name: 'globex', keys: [keys.globex] },
      ]),
    });
  });
  after(() => stack.stop());

  test('a submission that would pass its queued pages gets 429 with Retry-After, nothing kept; other tenants go on; read pages free the room', async () => {
    const twoPages = await layeredPdf([
      { kind: 'text', lines: wordLines(3, 5) },
      { kind: 'text', lines: wordLines(4, 5) },
    ]);
    const submit = (key: string) =>
      stack.submit([{ name: 'doc.pdf', data: twoPages }], {}, { authorization: `Bearer ${key}` });
    // No worker yet: what is accepted stays queued.
    const first = await submit(keys.initech);
    assert.equal(first.status, 202);
    const { id } = (await first.json()) as { id: string };
    const refused = await submit(keys.initech);
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    const problem = (await refused.json()) as { code: string; detail: string };
    assert.equal(problem.code, 'tenant_limit');
    assert.match(problem.detail, /initech has 2 pages queued and this document 2; its limit is 3/);
    assert.equal(await stack.api.dispatch.queuedPages(), 2, 'nothing of the refused document was queued');
    assert.equal((await submit(keys.globex)).status, 202, "another tenant's limit is its own");

    await stack.startWorker();
    for (const until = Date.now() + 60_000; ;) {
      const doc = (await (
        await fetch(`${stack.url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${keys.initech}` } })
      ).json()) as DocumentState;
      if (finished(doc)) break;
      assert.ok(Date.now() < until, 'the first document did not finish');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal((await submit(keys.initech)).status, 202, 'its pages read, the tenant has room again');
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { textPage } from '../scripts/lib/fixtures.js';
import { finished, startStack, type Stack } from './support/stack.js';

const KEY = 'k-0123456789abcdef-first';
const OTHER = 'k-fedcba9876543210-second';

describe('API keys, response headers and idempotent submissions', () => {
  let stack: Stack;
  let page: Buffer;
  before(async () => {
    stack = await startStack({ API_KEYS: `${KEY}, ${OTHER}` });
    await stack.startWorker();
    page = await textPage(['Only for key holders.']);
  });
  after(() => stack.stop());

  const form = () => {
    const body = new FormData();
    body.append('file', new Blob([page]), 'a.png');
    return body;
  };

  test('with API_KEYS set, /v1 needs a valid bearer key (401 problem otherwise); probes stay open', async () => {
    for (const authorization of [undefined, 'Bearer wrong-key-of-some-length', `Basic ${KEY}`, `Bearer ${KEY}x`]) {
      const response = await fetch(`${stack.url}/v1/jobs`, {
        method: 'POST',
        body: form(),
        ...(authorization ? { headers: { authorization } } : {}),
      });
      assert.equal(response.status, 401, String(authorization));
      assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
    assert.equal((await fetch(`${stack.url}/v1/jobs/00000000-0000-4000-8000-000000000000`)).status, 401);
    for (const key of [KEY, OTHER]) {
      const response = await fetch(`${stack.url}/v1/jobs`, {
        method: 'POST',
        body: form(),
        headers: { authorization: `Bearer ${key}` },
      });
      assert.equal(response.status, 202);
    }
    assert.equal((await fetch(`${stack.url}/health`)).status, 200);
    assert.equal((await fetch(`${stack.url}/ready`)).status, 200);
  });

  test('responses carry security headers', async () => {
    const response = await fetch(`${stack.url}/health`);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('x-powered-by'), null);
  });

  test('a repeated Idempotency-Key returns the same job without queuing it again', async () => {
    const key = { 'idempotency-key': 'order-4711-scan' };
    const first = await stack.submit([{ name: 'a.png', data: page }], {}, key);
    assert.equal(first.status, 202);
    const { id } = (await first.json()) as { id: string };
    const again = await stack.submit([{ name: 'a.png', data: page }], {}, key);
    assert.equal(again.status, 202);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(((await again.json()) as { id: string }).id, id);
    assert.equal((await stack.waitFor(id, finished)).status, 'completed');
    const later = await stack.submit([{ name: 'a.png', data: page }], {}, key);
    assert.equal(((await later.json()) as { id: string; status: string }).status, 'completed');

    // Keys belong to the API key that used them, and another key is another job.
    const otherClient = await stack.submit(
      [{ name: 'a.png', data: page }],
      {},
      { ...key, authorization: `Bearer ${OTHER}` },
    );
    assert.notEqual(((await otherClient.json()) as { id: string }).id, id);
    const otherKey = await stack.submit([{ name: 'a.png', data: page }], {}, { 'idempotency-key': 'order-4712-scan' });
    assert.notEqual(((await otherKey.json()) as { id: string }).id, id);
  });

  test('an Idempotency-Key reused with other files or options is 422; the same request still replays', async () => {
    const key = { 'idempotency-key': 'invoice-scan-2026-12-06' };
    const first = await stack.submit([{ name: 'a.png', data: page }], {}, key);
    assert.equal(first.status, 202);
    const { id } = (await first.json()) as { id: string };
    const otherOptions = await stack.submit([{ name: 'a.png', data: page }], { dpi: '300', pages: '1' }, key);
    assert.equal(otherOptions.status, 422);
    assert.match(otherOptions.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const problem = (await otherOptions.json()) as { code: string; detail: string };
    assert.equal(problem.code, 'idempotency_mismatch');
    assert.match(problem.detail, new RegExp(id));
    const otherFile = await stack.submit([{ name: 'a.png', data: await textPage(['Another page.']) }], {}, key);
    assert.equal(otherFile.status, 422);
    const same = await stack.submit([{ name: 'renamed.png', data: page }], {}, key);
    assert.equal(same.status, 202);
    assert.equal(same.headers.get('idempotent-replayed'), 'true');
    assert.equal(((await same.json()) as { id: string }).id, id);
  });

  test('a refused submission frees its Idempotency-Key for the corrected retry', async () => {
    const key = { 'idempotency-key': 'retry-after-a-mistake' };
    const refused = await stack.submit([{ name: 'a.pdf', data: Buffer.from('not a pdf') }], {}, key);
    assert.equal(refused.status, 415);
    const retried = await stack.submit([{ name: 'a.png', data: page }], {}, key);
    assert.equal(retried.status, 202);
    assert.equal(retried.headers.get('idempotent-replayed'), null);
    const bad = await stack.submit([{ name: 'a.png', data: page }], {}, { 'idempotency-key': 'x'.repeat(300) });
    assert.equal(bad.status, 400);
  });
});

describe('tenants: each API key sees only its own jobs', () => {
  const ADMIN = 'k-a11-the-operators-key';
  let stack: Stack;
  before(async () => {
    stack = await startStack({ API_KEYS: `${KEY},${OTHER}`, ADMIN_API_KEYS: ADMIN });
    await stack.startWorker();
  });
  after(() => stack.stop());

  const as = (key: string, init: RequestInit = {}) => ({ ...init, headers: { authorization: `Bearer ${key}` } });

  test('another key gets 404 on every route of a job, as for one that does not exist; the owner gets it all', async () => {
    const submitted = await stack.submit([{ name: 'a.png', data: await textPage(['Owned by the first key.']) }]);
    const { id } = (await submitted.json()) as { id: string };
    assert.equal((await stack.waitFor(id, finished)).status, 'completed');
    const routes = ['', '/events', '/result', '/text', '/pdf', '/pages/1', '/pages/1?format=hocr'];
    for (const route of routes) {
      const theirs = await fetch(`${stack.url}/v1/jobs/${id}${route}`, as(OTHER));
      assert.equal(theirs.status, 404, route);
      assert.equal(((await theirs.json()) as { detail: string }).detail, `no job ${id}`, 'nothing tells it exists');
    }
    assert.equal((await fetch(`${stack.url}/v1/jobs/${id}`, as(OTHER, { method: 'DELETE' }))).status, 404);
    assert.equal(
      (await fetch(`${stack.url}/v1/jobs/${id}`, as(ADMIN))).status,
      404,
      'an administrator key is a tenant too',
    );
    for (const route of ['', '/result', '/text', '/pages/1']) {
      assert.equal((await fetch(`${stack.url}/v1/jobs/${id}${route}`, as(KEY))).status, 200, route);
    }
    assert.equal((await fetch(`${stack.url}/v1/jobs/${id}`, as(KEY, { method: 'DELETE' }))).status, 204);
  });

  test('/v1/workers needs an administrator key (ADMIN_API_KEYS): a tenant key gets 403', async () => {
    assert.equal((await fetch(`${stack.url}/v1/workers`)).status, 401);
    const tenant = await fetch(`${stack.url}/v1/workers`, as(KEY));
    assert.equal(tenant.status, 403);
    assert.equal(((await tenant.json()) as { code: string }).code, 'forbidden');
    const admin = await fetch(`${stack.url}/v1/workers`, as(ADMIN));
    assert.equal(admin.status, 200);
    assert.ok(((await admin.json()) as { workers: unknown[] }).workers.length >= 1);
  });

  test('an Idempotency-Key is scoped per key; metrics carry no key', async () => {
    const page = await textPage(['The same key, two tenants.']);
    const headers = { 'idempotency-key': 'invoice-2026-12' };
    const submit = (key: string) => {
      const form = new FormData();
      form.append('file', new Blob([page]), 'a.png');
      return fetch(`${stack.url}/v1/jobs`, {
        method: 'POST',
        body: form,
        headers: { ...headers, authorization: `Bearer ${key}` },
      });
    };
    const mine = (await (await submit(KEY)).json()) as { id: string };
    const theirs = (await (await submit(OTHER)).json()) as { id: string };
    assert.notEqual(mine.id, theirs.id);
    assert.equal(((await (await submit(OTHER)).json()) as { id: string }).id, theirs.id);
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    for (const key of [KEY, OTHER, ADMIN]) {
      assert.ok(!metrics.includes(key));
      assert.ok(!metrics.includes(createHash('sha256').update(key).digest('hex')));
    }
  });
});

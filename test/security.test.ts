import assert from 'node:assert/strict';
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

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signWebhook, WEBHOOK_HEADERS, type WebhookPayload } from '@pagefleet/shared';
import type { RunningWorker } from '../apps/worker/src/workers.js';
import { pdfOf, textPage } from '../scripts/lib/fixtures.js';
import { scrape, valueOf } from './support/prometheus.js';
import { startStack, type Stack } from './support/stack.js';
import { until } from '../scripts/lib/until.js';
import { startReceiver, type Delivery } from './support/webhook-receiver.js';

const SECRET = 'webhook-secret-for-tests-0123';

/** What a receiver does, as README tells it: recompute the signature over `<timestamp>.<raw body>`. */
function verify(delivery: Delivery): WebhookPayload {
  const timestamp = Number(delivery.headers[WEBHOOK_HEADERS.timestamp]);
  assert.ok(Math.abs(Date.now() / 1000 - timestamp) < 60, 'a fresh timestamp');
  assert.equal(delivery.headers[WEBHOOK_HEADERS.signature], signWebhook(SECRET, timestamp, delivery.body));
  assert.notEqual(delivery.headers[WEBHOOK_HEADERS.signature], signWebhook('another secret', timestamp, delivery.body));
  return JSON.parse(delivery.body) as WebhookPayload;
}

async function submitWith(stack: Stack, pdf: Buffer, callbackUrl: string): Promise<Response> {
  return stack.submit([{ name: 'doc.pdf', data: pdf }], { callbackUrl });
}

describe('webhooks: a signed POST when a job ends, retried with backoff', () => {
  let stack: Stack;
  let worker: RunningWorker;
  let pdf: Buffer;
  before(async () => {
    stack = await startStack({ WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_BACKOFF_MS: '100' });
    worker = await stack.startWorker();
    pdf = await pdfOf([await textPage(['A callback tells the client.', 'No polling needed.'])]);
  });
  after(() => stack.stop());

  test('the receiver answers 500 once: the same signed summary comes again, and is then delivered', async () => {
    const receiver = await startReceiver([500]);
    try {
      const response = await submitWith(stack, pdf, receiver.url);
      assert.equal(response.status, 202);
      const { id } = (await response.json()) as { id: string };
      const [first, second] = await receiver.waitFor(2);
      const payload = verify(first as Delivery);
      assert.deepEqual(verify(second as Delivery), payload);
      assert.equal(payload.event, 'job.finished');
      assert.equal(payload.id, id);
      assert.deepEqual(
        [payload.status, payload.pageCount, payload.pagesDone, payload.pagesFailed],
        ['completed', 1, 1, 0],
      );
      assert.equal(payload.links.text, `/v1/jobs/${id}/text`);
      assert.equal(first?.headers[WEBHOOK_HEADERS.delivery], second?.headers[WEBHOOK_HEADERS.delivery]);
      assert.deepEqual([first?.headers[WEBHOOK_HEADERS.attempt], second?.headers[WEBHOOK_HEADERS.attempt]], ['1', '2']);
      assert.equal(first?.headers['content-type'], 'application/json');

      const samples = await scrape(`http://127.0.0.1:${worker.port}`);
      assert.equal(valueOf(samples, 'pagefleet_webhook_deliveries_total', { outcome: 'retried' }), 1);
      await until('delivery counted', async () => {
        const delivered = valueOf(
          await scrape(`http://127.0.0.1:${worker.port}`),
          'pagefleet_webhook_deliveries_total',
          { outcome: 'delivered' },
        );
        return delivered === 1 ? delivered : undefined;
      });
      assert.equal(receiver.deliveries.length, 2, 'nothing after the 200');
    } finally {
      await receiver.close();
    }
  });

  test('a canceled job calls back with status canceled', async () => {
    const receiver = await startReceiver([]);
    try {
      const twoPages = await pdfOf([await textPage(['Canceled before its end.']), await textPage(['Never read.'])]);
      const { id } = (await (await submitWith(stack, twoPages, receiver.url)).json()) as { id: string };
      assert.equal((await fetch(`${stack.url}/v1/jobs/${id}`, { method: 'DELETE' })).status, 204);
      const [delivery] = await receiver.waitFor(1);
      assert.equal(verify(delivery as Delivery).status, 'canceled');
    } finally {
      await receiver.close();
    }
  });
});

describe('callback URLs that are refused at submission', () => {
  let guarded: Stack;
  let unsigned: Stack;
  let pdf: Buffer;
  before(async () => {
    guarded = await startStack({ WEBHOOK_SECRET: SECRET });
    unsigned = await startStack();
    pdf = await pdfOf([await textPage(['Never queued.'])]);
  });
  after(async () => {
    await guarded.stop();
    await unsigned.stop();
  });

  const problem = async (response: Response) => {
    assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
    return (await response.json()) as { code: string; detail: string };
  };

  test('loopback, link-local and private targets are 422 bad_callback unless WEBHOOK_ALLOW_PRIVATE=true', async () => {
    for (const url of [
      'http://127.0.0.1:9/hook',
      'http://localhost/hook',
      'http://169.254.169.254/latest',
      'http://[::1]/hook',
      'http://10.0.0.7/hook',
    ]) {
      const response = await submitWith(guarded, pdf, url);
      assert.equal(response.status, 422, url);
      const body = await problem(response);
      assert.equal(body.code, 'bad_callback');
      assert.match(body.detail, /private address/);
    }
  });

  test('a URL that is not http(s) is 400; a host that does not resolve is 422', async () => {
    for (const url of ['ftp://example.com/hook', 'not a url', 'javascript:alert(1)']) {
      const response = await submitWith(guarded, pdf, url);
      assert.equal(response.status, 400, url);
      assert.match((await problem(response)).detail, /callbackUrl/);
    }
    const response = await submitWith(guarded, pdf, 'http://no-such-host.invalid/hook');
    assert.equal(response.status, 422);
    assert.match((await problem(response)).detail, /cannot be resolved/);
  });

  test('without WEBHOOK_SECRET a callback is refused, naming the variable', async () => {
    const response = await submitWith(unsigned, pdf, 'https://example.com/hook');
    assert.equal(response.status, 422);
    assert.match((await problem(response)).detail, /WEBHOOK_SECRET/);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DocumentState } from '@pagefleet/shared';
import { freePort } from '../scripts/lib/redis-server.js';
import { pdfOf, textPage } from '../scripts/lib/fixtures.js';
import { kill, startApp } from '../scripts/lib/apps.js';
import { collect, readSse, type SseMessage } from '../scripts/lib/sse.js';
import { finished, startStack, type Stack } from './support/stack.js';

const LINES = [
  ['Progress arrives as events.', 'One for every page that ends.'],
  ['The second page ends the document.', 'Then the stream closes.'],
];

interface PageEvent {
  page: number;
  status: string;
  confidence: number;
  pagesDone: number;
  pagesFailed: number;
  pageCount: number;
}

const data = <T>(message: SseMessage | undefined) => JSON.parse(message?.data ?? 'null') as T;
const ofType = (messages: SseMessage[], event: string) => messages.filter((message) => message.event === event);

describe('GET /v1/jobs/:id/events: live progress as Server-Sent Events', () => {
  let stack: Stack;
  let pdf: Buffer;
  let id: string;
  let firstPageEventId: string;
  before(async () => {
    stack = await startStack({ SSE_HEARTBEAT_MS: '200' });
    pdf = await pdfOf(await Promise.all(LINES.map(textPage)));
  });
  after(() => stack.stop());

  const events = (jobId: string, headers: Record<string, string> = {}) =>
    fetch(`${stack.url}/v1/jobs/${jobId}/events`, { headers });

  test('state first, heartbeats while waiting, one event per page, then the end; the stream closes', async () => {
    const response = await stack.submit([{ name: 'two.pdf', data: pdf }]);
    id = ((await response.json()) as { id: string }).id;
    const stream = await events(id);
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
    const messages = readSse(stream);

    const waiting = await collect(messages, (message) => message.comment === 'keep-alive');
    assert.equal(data<DocumentState>(ofType(waiting, 'state')[0]).status, 'queued');

    await stack.startWorker();
    const rest = await collect(messages);
    const pages = ofType(rest, 'page');
    assert.deepEqual(pages.map((message) => data<PageEvent>(message).page).sort(), [1, 2]);
    for (const message of pages) {
      const page = data<PageEvent>(message);
      assert.equal(page.status, 'completed');
      assert.ok(page.confidence > 50, String(page.confidence));
      assert.equal(page.pageCount, 2);
      assert.ok(message.id, 'page events carry ids');
    }
    assert.deepEqual(
      pages.map((message) => data<PageEvent>(message).pagesDone),
      [1, 2],
    );
    const end = rest.at(-1);
    assert.equal(end?.event, 'end');
    const final = data<DocumentState>(end);
    assert.deepEqual([final.status, final.pagesDone, final.pagesFailed], ['completed', 2, 0]);
    firstPageEventId = pages[0]?.id ?? '';
  });

  test('reconnecting with Last-Event-ID gives what came after it, nothing twice', async () => {
    const messages = await collect(readSse(await events(id, { 'last-event-id': firstPageEventId })));
    assert.deepEqual(
      messages.filter((message) => message.event).map((message) => message.event),
      ['state', 'page', 'end'],
    );
    assert.notEqual(ofType(messages, 'page')[0]?.id, firstPageEventId);
  });

  test('a finished job replays its pages and ends at once; a canceled one ends canceled; an unknown one is 404', async () => {
    const replay = await collect(readSse(await events(id)));
    assert.deepEqual(
      replay.filter((message) => message.event).map((message) => message.event),
      ['state', 'page', 'page', 'end'],
    );

    const submitted = await stack.submit([{ name: 'two.pdf', data: pdf }]);
    const canceled = ((await submitted.json()) as { id: string }).id;
    assert.equal((await fetch(`${stack.url}/v1/jobs/${canceled}`, { method: 'DELETE' })).status, 204);
    const messages = await collect(readSse(await events(canceled)));
    assert.equal(data<DocumentState>(ofType(messages, 'end')[0]).status, 'canceled');
    await stack.waitFor(canceled, finished);

    const missing = await events('00000000-0000-4000-8000-000000000000');
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /^application\/problem\+json/);
  });

  test('SIGTERM ends open streams, and the API still exits 0 at once', async () => {
    const port = await freePort();
    // A key prefix of its own: the stack's worker must not take this job, so its stream stays open.
    const env = {
      ...stack.env,
      QUEUE_PREFIX: `${stack.config.QUEUE_PREFIX}-sigterm`,
      PORT: String(port),
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: '20000',
    };
    const api = startApp('api', env, { source: 'src' });
    try {
      await api.waitForLog((line) => line.msg === 'api listening');
      const form = new FormData();
      form.append('file', new Blob([pdf]), 'two.pdf');
      const url = `http://127.0.0.1:${port}`;
      const { id: waiting } = (await (await fetch(`${url}/v1/jobs`, { method: 'POST', body: form })).json()) as {
        id: string;
      };
      const messages = readSse(await fetch(`${url}/v1/jobs/${waiting}/events`));
      await collect(messages, (message) => message.event === 'state');
      const started = Date.now();
      api.child.kill('SIGTERM');
      await collect(messages);
      assert.equal(await api.exited, 0);
      assert.ok(Date.now() - started < 10_000, 'not held until the grace period ends');
    } finally {
      await kill(api);
    }
  });
});

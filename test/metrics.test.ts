import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WorkerHeartbeat } from '@pagefleet/shared';
import type { RunningWorker } from '../apps/worker/src/workers.js';
import { pdfOf, textPage } from '../scripts/lib/fixtures.js';
import { moved, scrape, valueOf, type Sample } from './support/prometheus.js';
import { finished, startStack, type Stack } from './support/stack.js';
import { until } from '../scripts/lib/until.js';

const LINES = [
  ['Metrics count what happened.', 'Two pages in one document.'],
  ['The second page of the metrics test.', 'Counted once by the worker.'],
];

describe('metrics, probes and the worker list after a real job', () => {
  let stack: Stack;
  let worker: RunningWorker;
  let workerUrl: string;
  let apiBefore: Sample[];
  let id: string;
  let pdf: Buffer;

  before(async () => {
    stack = await startStack({ HEARTBEAT_INTERVAL_MS: '500' });
    pdf = await pdfOf(await Promise.all(LINES.map(textPage)));
  });
  after(() => stack.stop());

  test('the API counts a submission, its refusals, and sees the pages waiting in the queue', async () => {
    apiBefore = await scrape(stack.url);
    const refused = await stack.submit([{ name: 'notes.txt', data: Buffer.from('plain text, not a scan') }]);
    assert.equal(refused.status, 415);
    const empty = await stack.submit([{ name: 'empty.pdf', data: Buffer.alloc(0) }]);
    assert.equal(empty.status, 422);
    const response = await stack.submit([{ name: 'two.pdf', data: pdf }]);
    assert.equal(response.status, 202);
    id = ((await response.json()) as { id: string }).id;
    assert.equal((await fetch(`${stack.url}/v1/jobs/${id}`)).status, 200);
    assert.equal((await fetch(`${stack.url}/v1/jobs/${id}/nothing`)).status, 404);

    // No worker yet: both pages wait, the older for at least as long as it has existed.
    const waiting = await scrape(stack.url);
    assert.equal(moved(apiBefore, waiting, 'pagefleet_documents_submitted_total'), 1);
    assert.equal(moved(apiBefore, waiting, 'pagefleet_pages_submitted_total'), 2);
    assert.equal(moved(apiBefore, waiting, 'pagefleet_uploads_total'), 3);
    assert.equal(
      moved(apiBefore, waiting, 'pagefleet_uploaded_bytes_total'),
      pdf.length + 'plain text, not a scan'.length,
    );
    assert.equal(moved(apiBefore, waiting, 'pagefleet_submissions_rejected_total', { reason: 'bad_type' }), 1);
    assert.equal(moved(apiBefore, waiting, 'pagefleet_submissions_rejected_total', { reason: 'empty' }), 1);
    const http = 'pagefleet_http_request_duration_seconds_count';
    assert.equal(moved(apiBefore, waiting, http, { method: 'POST', route: '/v1/jobs', status: '202' }), 1);
    assert.equal(moved(apiBefore, waiting, http, { method: 'POST', route: '/v1/jobs', status: '415' }), 1);
    assert.equal(moved(apiBefore, waiting, http, { method: 'GET', route: '/v1/jobs/:id', status: '200' }), 1);
    assert.equal(moved(apiBefore, waiting, http, { method: 'GET', route: 'unmatched', status: '404' }), 1);
    assert.ok(
      !waiting.some((sample) => Object.values(sample.labels).some((value) => value.includes(id))),
      'no job id in any label',
    );

    // No slot in the fleet: one page is released (takeable), the other held for its tenant's turn.
    assert.equal(valueOf(waiting, 'pagefleet_queue_jobs', { queue: 'pages', state: 'prioritized' }), 1);
    assert.equal(valueOf(waiting, 'pagefleet_queue_jobs', { queue: 'pages', state: 'delayed' }), 1);
    assert.equal(valueOf(waiting, 'pagefleet_queue_jobs', { queue: 'documents', state: 'waiting-children' }), 1);
    assert.equal(valueOf(waiting, 'pagefleet_queue_jobs', { queue: 'pages-large', state: 'prioritized' }), 0);
    const age = valueOf(waiting, 'pagefleet_queue_oldest_waiting_seconds', { queue: 'pages' });
    assert.ok(age > 0 && age < 60, `oldest waiting page: ${age} s`);
    assert.ok(valueOf(waiting, 'pagefleet_process_resident_memory_bytes') > 0);
    assert.ok(waiting.some((sample) => sample.name.startsWith('pagefleet_nodejs_eventloop_lag')));
    assert.ok(waiting.every((sample) => sample.name.startsWith('pagefleet_')));
  });

  test('a worker serves /health and /ready once its OCR engine has started, and counts the pages it read', async () => {
    worker = await stack.startWorker();
    workerUrl = `http://127.0.0.1:${worker.port}`;
    assert.deepEqual(await (await fetch(`${workerUrl}/health`)).json(), { status: 'ok' });
    const ready = await until('worker ready', async () => {
      const response = await fetch(`${workerUrl}/ready`);
      return response.ok ? ((await response.json()) as { checks: Record<string, boolean> }) : undefined;
    });
    assert.deepEqual(ready.checks, { redis: true, ocr: true, disk: true, fetching: true });

    assert.equal((await stack.waitFor(id, finished)).status, 'completed');
    // The document is counted once BullMQ has finished its job, just after the ledger ended it.
    const samples = await until('document counted', async () => {
      const scraped = await scrape(workerUrl);
      return valueOf(scraped, 'pagefleet_documents_finished_total', { status: 'completed' }) > 0 ? scraped : undefined;
    });
    assert.equal(valueOf(samples, 'pagefleet_pages_processed_total', { queue: 'pages', outcome: 'completed' }), 2);
    assert.equal(valueOf(samples, 'pagefleet_page_attempts_total', { queue: 'pages' }), 2);
    assert.equal(valueOf(samples, 'pagefleet_page_duration_seconds_count', { queue: 'pages' }), 2);
    for (const stage of ['rasterize', 'preprocess', 'ocr', 'store']) {
      assert.equal(valueOf(samples, 'pagefleet_page_stage_duration_seconds_count', { stage }), 2, stage);
    }
    assert.ok(valueOf(samples, 'pagefleet_page_stage_duration_seconds_sum', { stage: 'ocr' }) > 0);
    assert.equal(valueOf(samples, 'pagefleet_ocr_confidence_ratio_count'), 2);
    assert.equal(
      valueOf(samples, 'pagefleet_ocr_confidence_ratio_bucket', { le: '0.5' }),
      0,
      'clean text reads with high confidence',
    );
    assert.equal(valueOf(samples, 'pagefleet_page_pixels_count'), 2);
    assert.equal(valueOf(samples, 'pagefleet_documents_finished_total', { status: 'completed' }), 1);
    assert.equal(valueOf(samples, 'pagefleet_worker_slots', { queue: 'pages' }), 2);
    assert.equal(valueOf(samples, 'pagefleet_worker_busy_slots', { queue: 'pages' }), 0);
    assert.ok(valueOf(samples, 'pagefleet_worker_memory_budget_bytes') > 0);
    assert.ok(valueOf(samples, 'pagefleet_process_resident_memory_bytes') > 0);

    const drained = await scrape(stack.url);
    assert.equal(valueOf(drained, 'pagefleet_queue_jobs', { queue: 'pages', state: 'prioritized' }), 0);
    assert.equal(valueOf(drained, 'pagefleet_queue_oldest_waiting_seconds', { queue: 'pages' }), 0);
  });

  test('GET /v1/workers lists the live worker from its heartbeat, and forgets it once it stops', async () => {
    const listed = await until('worker listed with its pages', async () => {
      const { workers } = (await (await fetch(`${stack.url}/v1/workers`)).json()) as { workers: WorkerHeartbeat[] };
      const found = workers.find((entry) => entry.id === worker.id);
      return found?.pagesDone === 2 ? found : undefined;
    });
    assert.equal(listed.pid, process.pid);
    assert.deepEqual(
      listed.queues.find((entry) => entry.queue === 'pages'),
      { queue: 'pages', slots: 2, busy: 0 },
    );
    assert.equal(
      listed.concurrency,
      listed.queues.reduce((sum, entry) => sum + entry.slots, 0),
    );
    assert.ok(listed.rssBytes > 0 && listed.memoryBudgetBytes > 0);
    assert.ok(Date.now() - Date.parse(listed.lastSeen) < 5000);

    await worker.close(1000);
    const { workers } = (await (await fetch(`${stack.url}/v1/workers`)).json()) as { workers: WorkerHeartbeat[] };
    assert.deepEqual(workers, []);
    assert.equal(
      await fetch(`${workerUrl}/health`).then(
        () => 'answered',
        () => 'closed',
      ),
      'closed',
    );
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, afterEach, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { pageJobId, QUEUES, type PageResult } from '@pagefleet/shared';
import { cer, pdfOf, slowPdf, textPage, textPdf } from '../scripts/lib/fixtures.js';
import { kill, startApp, type AppProcess } from '../scripts/lib/apps.js';
import { until } from '../scripts/lib/until.js';
import { scrape, valueOf } from './support/prometheus.js';
import { finished, startStack, STORAGES, type Stack } from './support/stack.js';

const LINES = [
  ['The first page survives its worker.', 'Killed in the middle, read again.'],
  ['A second page waits its turn.', 'Nothing is lost when a worker dies.'],
  ['The third page closes the document.', 'Every page exactly once.'],
];

/** A worker process's own metrics, from the port it logged. */
async function metricsOf(app: AppProcess) {
  const listening = await app.waitForLog((line) => line.msg === 'worker metrics and probes listening');
  return scrape(`http://127.0.0.1:${String(listening.port)}`);
}

const started = (page: number, deaths?: number) => (line: Record<string, unknown>) =>
  line.msg === 'page started' && line.page === page && (deaths === undefined || line.deaths === deaths);

for (const storage of STORAGES) {
  describe(`faults: workers die, pages hang, workers stop (${storage})`, () => {
    let stack: Stack;
    const apps: AppProcess[] = [];
    const worker = (env: Record<string, string> = {}) => {
      const app = startApp('worker', stack.workerEnv({ LOG_LEVEL: 'info', WORKER_CONCURRENCY: '1', ...env }), {
        source: 'src',
      });
      apps.push(app);
      return app;
    };

    before(async () => {
      // Short locks, so that a killed worker's page is found within seconds, not a minute.
      stack = await startStack(
        { LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '1000', HEARTBEAT_INTERVAL_MS: '500', MAX_STALLED_COUNT: '1' },
        storage,
      );
    });
    afterEach(async () => {
      await Promise.all(apps.splice(0).map(kill));
    });
    after(() => stack.stop());

    async function submit(data: Buffer, name = 'doc.pdf'): Promise<string> {
      const response = await stack.submit([{ name, data }]);
      assert.equal(response.status, 202);
      return ((await response.json()) as { id: string }).id;
    }

    /** A page's result as the API serves it; undefined while it has none. */
    async function pageResult(id: string, page: number): Promise<PageResult | undefined> {
      const response = await fetch(`${stack.url}/v1/jobs/${id}/pages/${page}`);
      if (response.status === 409) return undefined;
      assert.equal(response.status, 200);
      return (await response.json()) as PageResult;
    }

    test('a worker SIGKILLed mid-page: its page is taken again (at half the DPI) and the document completes, every page once', async () => {
      const id = await submit(await pdfOf(await Promise.all(LINES.map(textPage))));
      const first = worker();
      await first.waitForLog(started(2));
      await kill(first);

      const second = worker();
      const retried = await second.waitForLog(started(2, 1));
      assert.equal(
        retried.dpi,
        stack.config.DEFAULT_DPI / 2,
        'the page that killed its worker is retried at half the DPI',
      );
      const doc = await stack.waitFor(id, finished);
      assert.equal(doc.status, 'completed');
      assert.equal(
        valueOf(await metricsOf(second), 'pagefleet_pages_stalled_total', { queue: 'pages' }),
        1,
        'the survivor found the page stalled',
      );
      assert.equal(doc.pagesDone, 3);
      const text = await (await fetch(`${stack.url}/v1/jobs/${id}/text`)).text();
      const pages = text.split('\f');
      assert.equal(pages.length, 3, 'one text per page, no page twice');
      pages.forEach((page, i) => assert.ok(cer(LINES[i]?.join('\n') ?? '', page) <= 0.1, page));
    });

    test('a worker paused past its lock mid-page cannot overwrite the page another attempt recorded', async () => {
      const pages = await Promise.all(LINES.map(textPage));
      // Twice the default DPI: the paused worker is surely still on its page when it is stopped.
      const response = await stack.submit([{ name: 'doc.pdf', data: await pdfOf(pages) }], { dpi: '400' });
      const { id } = (await response.json()) as { id: string };
      const zombie = worker();
      const held = await zombie.waitForLog(started(1));
      zombie.child.kill('SIGSTOP');
      const survivor = worker();
      const retried = await survivor.waitForLog(started(1, 1));
      assert.equal(retried.dpi, 200, 'the survivor took the page over after its lock expired');
      const doc = await stack.waitFor(id, finished);
      assert.deepEqual([doc.status, doc.pagesDone, doc.pagesFailed], ['completed', 3, 0]);

      zombie.child.kill('SIGCONT');
      const refused = await zombie.waitForLog(
        (line) => line.msg === 'page result not recorded: this attempt no longer owns the page',
      );
      assert.deepEqual([refused.page, refused.attempt, refused.outcome], [1, held.attempt, 'ended']);

      const after = (await (await fetch(`${stack.url}/v1/jobs/${id}`)).json()) as typeof doc;
      assert.deepEqual([after.status, after.pagesDone], ['completed', 3], 'pagesDone never passes pageCount');
      const result = (await (await fetch(`${stack.url}/v1/jobs/${id}/result`)).json()) as { pages: PageResult[] };
      const text = (await (await fetch(`${stack.url}/v1/jobs/${id}/text`)).text()).split('\f');
      assert.deepEqual(
        result.pages.map((page) => page.text),
        text,
        '/result and /text agree on every page',
      );
      assert.equal(result.pages[0]?.dpi, 200, "page 1 is the survivor's attempt, not the paused one's");
      const stored = (await stack.stored(id)).filter((key) => key.startsWith('pages/000001.'));
      assert.deepEqual(
        stored,
        [`pages/000001.${String(retried.attempt)}.json`],
        'no file of the paused attempt is left',
      );
    });

    test('a worker SIGKILLed while a page is read leaves no child behind: its pdftotext dies with it', async () => {
      const id = await submit(slowPdf(), 'slow.pdf');
      const app = worker();
      await app.waitForLog(started(1));
      // Reading its text layer walks ten million strokes: minutes of pdftotext, unless it dies with its worker.
      const children = await until('the page has its pdftotext running', () => {
        const pids = spawnSync('pgrep', ['-x', '-P', String(app.pid), 'pdftotext'], { encoding: 'utf8' })
          .stdout.split('\n')
          .filter(Boolean);
        return Promise.resolve(pids.length > 0 ? pids : undefined);
      });
      await kill(app);
      // An exited child no one has reaped yet is a zombie (state Z): it runs no more.
      const running = (pid: string) =>
        existsSync(`/proc/${pid}/stat`) && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      await until(
        'every child of the killed worker has exited',
        () => Promise.resolve(children.some(running) ? undefined : true),
        5000,
      );
      // Its page would run again in the next test's workers.
      assert.equal((await fetch(`${stack.url}/v1/jobs/${id}`, { method: 'DELETE' })).status, 204);
    });

    test('a page that kills every worker fails alone with reason oom; the rest of its document completes', async () => {
      const id = await submit(await pdfOf(await Promise.all(LINES.slice(0, 2).map(textPage))));
      // MAX_STALLED_COUNT=1: two deaths (at DEFAULT_DPI, then at half of it), and the third worker gives it up.
      for (const deaths of [0, 1]) {
        const app = worker();
        await app.waitForLog(started(1, deaths));
        await kill(app);
      }
      const last = worker();
      const doc = await stack.waitFor(id, finished);
      assert.equal(doc.status, 'partial');
      const samples = await metricsOf(last);
      assert.equal(valueOf(samples, 'pagefleet_pages_oom_total'), 1);
      assert.equal(valueOf(samples, 'pagefleet_pages_processed_total', { queue: 'pages', outcome: 'failed' }), 1);
      assert.deepEqual([doc.pagesDone, doc.pagesFailed], [1, 1]);
      const poisoned = (await pageResult(id, 1)) as PageResult;
      assert.equal(poisoned.status, 'failed');
      assert.equal(poisoned.reason, 'oom');
      assert.match(poisoned.error ?? '', /worker died/);
      assert.equal((await pageResult(id, 2))?.status, 'completed');
    });

    test('a page past PAGE_TIMEOUT_MS fails with the stage named after its attempts; the queue keeps flowing', async () => {
      const app = worker({ PAGE_TIMEOUT_MS: '2000', PAGE_BACKOFF_MS: '100' });
      const slow = await submit(slowPdf(), 'slow.pdf');
      // Read from its text layer: a page that OCR would read in time on an idle machine only.
      const normal = await submit(textPdf(LINES[0] ?? []));
      assert.equal((await stack.waitFor(normal, finished)).status, 'completed');
      const doc = await stack.waitFor(slow, finished);
      assert.equal(doc.status, 'failed');
      const result = (await pageResult(slow, 1)) as PageResult;
      assert.equal(result.reason, 'timeout');
      // Reading its text layer walks the same ten million strokes: the first stage, extract, is cut.
      assert.match(result.error ?? '', /timed out after 2000 ms in stage extract/);
      assert.equal(result.stage, 'extract');
      // The attempts the API enqueued the page with.
      const attempts = app.logs.filter((line) => started(1)(line) && line.documentId === slow).length;
      assert.equal(attempts, stack.config.PAGE_ATTEMPTS);
      const samples = await metricsOf(app);
      assert.equal(valueOf(samples, 'pagefleet_page_timeouts_total', { stage: 'extract' }), attempts);
      assert.equal(
        valueOf(samples, 'pagefleet_pages_processed_total', { queue: 'pages', outcome: 'retried' }),
        attempts - 1,
      );
      assert.equal(valueOf(samples, 'pagefleet_pages_processed_total', { queue: 'pages', outcome: 'failed' }), 1);
    });

    test('SIGTERM: an active page finishes within SHUTDOWN_GRACE_MS, then the worker exits 0', async () => {
      const id = await submit(await pdfOf([await textPage(LINES[0] ?? [])]));
      const app = worker({ SHUTDOWN_GRACE_MS: '60000' });
      await app.waitForLog(started(1));
      app.child.kill('SIGTERM');
      assert.equal(await app.exited, 0);
      const stopped = app.logs.find((line) => line.msg === 'stopped');
      assert.deepEqual([stopped?.finished, stopped?.handedBack], [true, 0]);
      assert.equal((await pageResult(id, 1))?.status, 'completed');
    });

    test('SIGTERM: a page still running when the grace ends is handed back to its queue at once, and the worker exits 0', async () => {
      const id = await submit(slowPdf(), 'slow.pdf');
      const app = worker({ SHUTDOWN_GRACE_MS: '500' });
      await app.waitForLog(started(1));
      app.child.kill('SIGTERM');
      assert.equal(await app.exited, 0);
      assert.equal(app.logs.find((line) => line.msg === 'stopped')?.handedBack, 1);
      const queue = new Queue(QUEUES.pages, {
        connection: { url: stack.env.REDIS_URL },
        prefix: stack.config.QUEUE_PREFIX,
      });
      try {
        const job = await queue.getJob(pageJobId(id, 1));
        // Waiting again, not left active until its lock expires, and not counted as a death.
        assert.ok(['waiting', 'prioritized'].includes(String(await job?.getState())), String(await job?.getState()));
        assert.equal(job?.stalledCounter, 0);
      } finally {
        await queue.close();
      }
      assert.equal((await fetch(`${stack.url}/v1/jobs/${id}`, { method: 'DELETE' })).status, 204);
    });
  });
}

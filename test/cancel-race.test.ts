import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { documentKeys, QUEUES, readBlob, type DocumentState } from '@pagefleet/shared';
import { kill, startApp, type AppProcess } from '../scripts/lib/apps.js';
import { pdfOf, textPage } from '../scripts/lib/fixtures.js';
import { until } from '../scripts/lib/until.js';
import { startStack, type Stack } from './support/stack.js';

/** Tries to catch a document's own job running this many times before giving up. */
const TRIES = 5;

describe('DELETE while the document job assembles the text and PDF', () => {
  let stack: Stack;
  let worker: AppProcess;
  let documents: Queue;
  before(async () => {
    stack = await startStack();
    worker = startApp('worker', stack.workerEnv(), { source: 'src' });
    documents = new Queue(QUEUES.documents, {
      connection: { url: stack.env.REDIS_URL },
      prefix: stack.config.QUEUE_PREFIX,
    });
  });
  after(async () => {
    await documents.close();
    await kill(worker);
    await stack.stop();
  });

  test('the document stays canceled and nothing of it is written after the cancel', async () => {
    const pages = await Promise.all(Array.from({ length: 8 }, (_, i) => textPage([`Page ${i + 1}, assembled.`])));
    const pdf = await pdfOf(pages);
    for (let attempt = 1; ; attempt++) {
      const response = await stack.submit([{ name: 'doc.pdf', data: pdf }], { outputs: 'text,json,pdf' });
      const { id } = (await response.json()) as { id: string };
      // The worker is frozen the moment its document job is running (SIGSTOP), canceled, then let go.
      // Assembling eight pages takes a fraction of a second: the state is watched closely.
      const state = await until(
        'the document job runs or ends',
        async () => {
          for (const stop = Date.now() + 1000; Date.now() < stop;) {
            const now = await documents.getJobState(id);
            if (['active', 'completed', 'failed'].includes(now)) return now;
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          return undefined;
        },
        60_000,
      );
      if (state !== 'active') {
        assert.ok(attempt < TRIES, `the document job was never caught running (${TRIES} tries)`);
        continue;
      }
      worker.child.kill('SIGSTOP');
      const caught =
        ((await (await fetch(`${stack.url}/v1/jobs/${id}`)).json()) as DocumentState).status === 'processing';
      assert.equal((await fetch(`${stack.url}/v1/jobs/${id}`, { method: 'DELETE' })).status, 204);
      worker.child.kill('SIGCONT');
      await until('the document job is over', async () =>
        ['completed', 'failed'].includes(await documents.getJobState(id)) ? true : undefined,
      );
      const doc = (await (await fetch(`${stack.url}/v1/jobs/${id}`)).json()) as DocumentState;
      assert.equal(doc.status, 'canceled');
      assert.deepEqual(await stack.stored(id), ['document.json'], 'no text, PDF or page written after the cancel');
      const saved = JSON.parse(
        (await readBlob(stack.api.blobs, documentKeys(id).state))?.toString('utf8') ?? '{}',
      ) as DocumentState;
      assert.equal(saved.status, 'canceled', 'the saved state says canceled');
      if (caught) return;
      assert.ok(attempt < TRIES, `the document job was never caught before it ended (${TRIES} tries)`);
    }
  });
});

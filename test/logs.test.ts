import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { prettyLogs } from '@pagefleet/shared';
import { freePort } from '../scripts/lib/redis-server.js';
import { pdfOf, textPage } from '../scripts/lib/fixtures.js';
import { kill, startApp, type AppProcess } from '../scripts/lib/apps.js';
import { finished, startStack, type Stack } from './support/stack.js';

const KEY = 'log-test-key-0123456789';
/** Words of the uploaded page: they must reach the result, never a log line. */
const CONTENT = 'Zanzibar quartermaster ledger';

test('LOG_FORMAT: json always, pretty always, auto pretty only on a terminal', () => {
  assert.equal(prettyLogs('json', true), false);
  assert.equal(prettyLogs('pretty', false), true);
  assert.equal(prettyLogs('auto', true), true);
  assert.equal(prettyLogs('auto', false), false);
});

describe('logs of real API and worker processes', () => {
  let stack: Stack;
  let api: AppProcess;
  let worker: AppProcess;
  let url: string;
  before(async () => {
    stack = await startStack();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const env = { ...stack.env, LOG_LEVEL: 'info', API_KEYS: KEY };
    api = startApp('api', { ...env, PORT: String(port) }, { source: 'src' });
    worker = startApp('worker', env, { source: 'src' });
    await api.waitForLog((line) => line.msg === 'api listening');
  });
  after(async () => {
    await Promise.all([kill(api), kill(worker)]);
    await stack.stop();
  });

  test('JSON lines: a page carries its job id, page, stage durations and RSS; no API key or uploaded text appears', async () => {
    const form = new FormData();
    form.append('file', new Blob([await pdfOf([await textPage([CONTENT])])]), 'ledger.pdf');
    const headers = { authorization: `Bearer ${KEY}` };
    const response = await fetch(`${url}/v1/jobs`, { method: 'POST', body: form, headers });
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };
    assert.equal(
      (await fetch(`${url}/v1/jobs/${id}`, { headers: { authorization: 'Bearer not-the-key-at-all' } })).status,
      401,
    );

    const completed = await worker.waitForLog((line) => line.msg === 'page completed' && line.documentId === id);
    assert.equal(completed.page, 1);
    const durations = completed.durations as Record<string, number>;
    for (const stage of ['rasterize', 'preprocess', 'ocr', 'store'])
      assert.equal(typeof durations[stage], 'number', stage);
    assert.ok((completed.rssBytes as number) > 0);
    await stack.waitFor(id, finished);
    const text = await (await fetch(`${url}/v1/jobs/${id}/text`, { headers })).text();
    assert.match(text, /quartermaster/, 'the page was read');

    const request = await api.waitForLog((line) => (line.req as { method?: string } | undefined)?.method === 'POST');
    assert.equal((request.req as { headers: Record<string, string> }).headers.authorization, '[Redacted]');
    const everything = JSON.stringify([...api.logs, ...worker.logs]);
    assert.ok(!everything.includes(KEY), 'the API key is never logged');
    assert.ok(!everything.includes('not-the-key-at-all'), 'nor a wrong one');
    assert.ok(!/quartermaster/.test(everything), 'the uploaded text is never logged');
    assert.ok(
      api.logs.every((line) => typeof line.level === 'number'),
      'every API line is JSON',
    );
  });

  test('LOG_FORMAT=pretty prints readable lines instead of JSON', async () => {
    const port = await freePort();
    const pretty = startApp(
      'api',
      { ...stack.env, LOG_LEVEL: 'info', LOG_FORMAT: 'pretty', PORT: String(port) },
      { source: 'src' },
    );
    try {
      const line = await pretty.waitForLog((entry) => String(entry.msg).includes('api listening'));
      assert.equal(line.level, undefined, 'not a JSON line');
      assert.match(String(line.msg), /INFO.*\(api\).*api listening/);
    } finally {
      await kill(pretty);
    }
  });
});

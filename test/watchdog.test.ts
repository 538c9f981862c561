import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { kill, startApp, type AppProcess } from '../scripts/lib/apps.js';
import { textPage } from '../scripts/lib/fixtures.js';
import { until } from '../scripts/lib/until.js';
import { scrape, valueOf } from './support/prometheus.js';
import { finished, startStack, type Stack } from './support/stack.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

describe('a worker whose blocking connection goes silent', () => {
  let stack: Stack;
  let proxy: TcpProxy;
  let worker: AppProcess;
  let probes: string;

  before(async () => {
    stack = await startStack();
    const redis = new URL(stack.env.REDIS_URL as string);
    proxy = await startTcpProxy(
      { host: redis.hostname, port: Number(redis.port) },
      /bzpopmin\r\n\$\d+\r\n[^\r]*:pages:marker\r\n/i,
    );
    proxy.silencing = true;
    worker = startApp(
      'worker',
      stack.workerEnv({
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        LOG_LEVEL: 'info',
        WORKER_CONCURRENCY: '1',
        WORKER_WATCHDOG_MS: '2000',
      }),
      { source: 'src' },
    );
    const listening = await worker.waitForLog((line) => line.msg === 'worker metrics and probes listening');
    probes = `http://127.0.0.1:${String(listening.port)}`;
    // Idle, the pages queue's BullMQ worker waits on its blocking connection: from now on silent.
    await until('the pages queue to block', () => Promise.resolve(proxy.silenced() > 0 ? true : undefined));
  });
  after(async () => {
    await kill(worker);
    await proxy.close();
    await stack.stop();
  });

  test('the watchdog reconnects it and, while no page is taken, turns /ready 503; pages flow again once it speaks', async () => {
    const response = await stack.submit([{ name: 'a.png', data: await textPage(['Taken after all.']) }]);
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };
    const watchdog = async (action: string) =>
      valueOf(await scrape(probes), 'pagefleet_watchdog_actions_total', { queue: 'pages', action });

    // Either the watchdog's reconnect gets the page taken, or /ready fails: never a worker that
    // says it is fine and takes nothing.
    let unready = false;
    const deadline = Date.now() + 30_000;
    for (;;) {
      assert.ok(Date.now() < deadline, 'the page is taken or the worker turns unready within 30 s');
      const ready = await fetch(`${probes}/ready`);
      const body = (await ready.json()) as { detail?: string };
      if (ready.status === 503) {
        assert.match(body.detail ?? '', /fetching/);
        unready = true;
        break;
      }
      if ((await stack.waitFor(id, () => true)).pagesDone > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok((await watchdog('reconnect')) >= 1, 'the watchdog reconnected the queue first');
    assert.equal(await watchdog('unready'), unready ? 1 : 0);

    proxy.silencing = false;
    assert.equal((await stack.waitFor(id, finished, 60_000)).status, 'completed');
    // The watchdog's next look (a quarter of WORKER_WATCHDOG_MS) sees the page taken.
    await until(
      'the worker to be ready again',
      async () => ((await fetch(`${probes}/ready`)).status === 200 ? true : undefined),
      5000,
    );
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DOCUMENTS_PREFIX, type DocumentState } from '@pagefleet/shared';
import { kill, startApp, waitReady } from '../scripts/lib/apps.js';
import { textPage } from '../scripts/lib/fixtures.js';
import { askRedis, freePort, startRedisServer, type RedisServer } from '../scripts/lib/redis-server.js';
import { until } from '../scripts/lib/until.js';
import { finished, startStack, type Stack } from './support/stack.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

/**
 * Where the API is killed, by the Redis command it is sending: held back (it never reaches Redis)
 * or let through with its reply held back (Redis did it; the API never learns).
 */
const POINTS = [
  { where: 'before the ledger writes the document', command: /:ingesting[\s\S]*queued/, forward: false },
  { where: 'with the document in Redis, its files not stored', command: /:ingesting[\s\S]*queued/, forward: true },
  { where: 'with the document stored, before its flow', command: /:documents:/, forward: false },
  {
    where: 'with its flow queued, before it is accepted',
    command: /'ZREM', KEYS\[1\], ARGV\[1\]\) == 0/,
    forward: false,
  },
  { where: 'once accepted, before the answer', command: /'ZREM', KEYS\[1\], ARGV\[1\]\) == 0/, forward: true },
] as const;

const LEASE_MS = 3000;

describe('the API killed mid-ingest: each document runs to its end or does not exist', () => {
  let dir: string;
  let redis: RedisServer;
  let proxy: TcpProxy;
  let stack: Stack;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pagefleet-ingest-crash-'));
    redis = await startRedisServer(dir, false);
    proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(redis.url).port) }, /^$/);
    // The stack's API is the one restarted after each crash; its worker reads what was accepted.
    stack = await startStack({ REDIS_URL: redis.url, INGEST_LEASE_MS: String(LEASE_MS) });
    await stack.startWorker();
  });
  after(async () => {
    await stack.stop();
    await proxy.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('at five points of an ingest, SIGKILL then a retry with the same Idempotency-Key', async () => {
    const page = await textPage(['Sent once, retried after a crash.']);
    const documents: string[] = [];
    for (const [index, point] of POINTS.entries()) {
      const port = await freePort();
      const api = startApp(
        'api',
        { ...stack.env, REDIS_URL: `redis://127.0.0.1:${proxy.port}`, PORT: String(port) },
        { source: 'src' },
      );
      const key = { 'idempotency-key': `crash-${index}` };
      try {
        await waitReady(`http://127.0.0.1:${port}`);
        const silenced = proxy.silenced();
        Object.assign(proxy, { command: point.command, forwardMatch: point.forward, silencing: true });
        proxy.onSilenced = () => api.child.kill('SIGKILL');
        const form = new FormData();
        form.append('file', new Blob([page]), 'a.png');
        const answer = await fetch(`http://127.0.0.1:${port}/v1/jobs`, {
          method: 'POST',
          body: form,
          headers: key,
        }).then(
          (response) => response.status,
          () => 'no answer',
        );
        assert.equal(answer, 'no answer', `killed ${point.where}`);
        assert.equal(proxy.silenced(), silenced + 1, `the ingest reached the point ${point.where}`);
      } finally {
        proxy.silencing = false;
        await kill(api);
      }

      // The client retries with the same key: refused 409 at most one lease, then answered.
      const retried = await until(
        `a retry after a crash ${point.where} is answered`,
        async () => {
          const response = await stack.submit([{ name: 'a.png', data: page }], {}, key);
          if (response.status === 409) return undefined;
          return response;
        },
        LEASE_MS * 4,
      );
      assert.equal(retried.status, 202, point.where);
      const { id } = (await retried.json()) as { id: string };
      const replayed = retried.headers.get('idempotent-replayed') === 'true';
      assert.equal(
        replayed,
        index === POINTS.length - 1,
        `replayed only once the crashed one was accepted (${point.where})`,
      );
      assert.equal((await stack.waitFor(id, finished)).status, 'completed', point.where);
      documents.push(id);
    }

    // The lapsed ingests are swept (a sweep takes a document off the list, then removes what it
    // stored): what is stored is exactly the documents that were answered.
    const ingesting = `${stack.config.QUEUE_PREFIX}:ingesting`;
    const leftOver = async () => {
      const left: string[] = [];
      for await (const id of stack.api.blobs.children(DOCUMENTS_PREFIX)) {
        if (!documents.includes(id)) left.push(`${id}: ${(await stack.stored(id)).join(', ')}`);
      }
      return left;
    };
    await until('every lapsed ingest is swept', async () =>
      (await askRedis(redis.url, (client) => client.zcard(ingesting))) === 0 && (await leftOver()).length === 0
        ? true
        : undefined,
    ).catch(async (err: Error) => assert.fail(`${err.message}: ${(await leftOver()).join('; ')}`));
    const stored: string[] = [];
    for await (const id of stack.api.blobs.children(DOCUMENTS_PREFIX)) stored.push(id);
    assert.deepEqual(stored.sort(), [...documents].sort(), 'nothing of a crashed ingest is left stored');
    for (const id of documents) {
      const doc = (await (await fetch(`${stack.url}/v1/jobs/${id}`)).json()) as DocumentState;
      assert.equal(doc.status, 'completed');
    }
  });
});

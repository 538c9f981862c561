import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  createLogger,
  documentKeys,
  FINISHED_STATUSES,
  loadConfig,
  type Config,
  type DocumentState,
} from '@pagefleet/shared';
import { connectApi, type ApiDeps } from '../../apps/api/src/deps.js';
import { createServer } from '../../apps/api/src/server.js';
import { runWorker, type RunningWorker } from '../../apps/worker/src/workers.js';
import { startRedisCluster } from '../../scripts/lib/redis-cluster.js';
import { startS3Server, type S3Server } from '../../scripts/lib/s3-server.js';
import { startRedis, type TestRedis } from './redis.js';
import { useS3Credentials } from './s3.js';

/** Where a stack keeps documents: the end-to-end, faults and outputs tests run with each. */
export const STORAGES = ['filesystem', 's3'] as const;
export type Storage = (typeof STORAGES)[number];
/** How a stack reaches Redis: one server, or a cluster of three primaries it starts. */
export type RedisForm = 'server' | 'cluster';
/** The variants the end-to-end tests run in: each storage on one server, and a cluster. */
export const VARIANTS: ReadonlyArray<{ storage: Storage; redis: RedisForm }> = [
  { storage: 'filesystem', redis: 'server' },
  { storage: 's3', redis: 'server' },
  { storage: 'filesystem', redis: 'cluster' },
];

export interface Stack {
  url: string;
  config: Config;
  /** The environment the stack's API runs with. */
  env: Record<string, string>;
  /** What a worker process needs to join the stack: with S3, a DATA_DIR of its own each call. */
  workerEnv(extra?: Record<string, string>): Record<string, string>;
  storage: Storage;
  /** With `s3`: the S3 server, to stop and start again. */
  s3?: S3Server;
  api: ApiDeps;
  startWorker(env?: Record<string, string>): Promise<RunningWorker>;
  submit(
    files: Array<{ name: string; data: Buffer }>,
    fields?: Record<string, string>,
    headers?: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Response>;
  waitFor(id: string, done: (doc: DocumentState) => boolean, timeoutMs?: number): Promise<DocumentState>;
  /** The keys a document has in the blob store, relative to its folder (`input/0.png`), sorted. */
  stored(id: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * The real API over HTTP on a free port, against a real redis-server, with workers started on
 * demand in this process (OCR still runs in tesseract.js worker threads). Each stack has its own
 * key prefix and DATA_DIR. With `s3`, documents are kept in a bucket of a real S3 server (s3rver)
 * the stack starts, and the API and each worker have a DATA_DIR of their own: nothing can pass
 * through a shared disk.
 */
export async function startStack(
  env: Record<string, string> = {},
  storage: Storage = 'filesystem',
  form: RedisForm = 'server',
): Promise<Stack> {
  // A test that fills a disk of its own brings its DATA_DIR.
  const dataDir = env.DATA_DIR ?? (await mkdtemp(path.join(os.tmpdir(), 'pagefleet-data-')));
  const dirs = env.DATA_DIR ? [] : [dataDir];
  // A test that stops and restarts Redis, or runs a Sentinel group, brings its own (in `env`).
  const cluster = form === 'cluster' ? await startRedisCluster(path.join(dataDir, 'cluster')) : undefined;
  const redis: TestRedis | undefined = env.REDIS_URL || env.REDIS_SENTINELS || cluster ? undefined : await startRedis();
  const s3 = storage === 's3' ? await startS3Server(path.join(dataDir, 's3'), 'pagefleet-test') : undefined;
  if (s3) useS3Credentials(s3);
  const ownDataDir = () => {
    if (!s3) return dataDir;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pagefleet-worker-'));
    dirs.push(dir);
    return dir;
  };
  const baseEnv = {
    ...(redis ? { REDIS_URL: redis.url } : {}),
    ...cluster?.env,
    QUEUE_PREFIX: `test-${randomUUID()}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    PAGE_BACKOFF_MS: '50',
    WORKER_CONCURRENCY: '2',
    // PaddleOCR's models only where a test asks for pages-paddle: each worker here shares this process.
    WORKER_QUEUES: 'pages,pages-large',
    // Several workers per test: each probe server takes a free port.
    WORKER_PORT: '0',
    ...s3?.env,
    ...env,
  };
  const config = loadConfig(baseEnv);
  const log = createLogger(config, 'test');
  const api = await connectApi(config, log);
  await new Promise<void>((resolve) =>
    api.redis.status === 'ready' ? resolve() : api.redis.once('ready', () => resolve()),
  );
  const server = createServer(api).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const workers: RunningWorker[] = [];
  const key = config.API_KEYS?.[0];
  const auth: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};

  return {
    url,
    config,
    env: baseEnv,
    workerEnv: (extra = {}) => ({ ...baseEnv, DATA_DIR: ownDataDir(), ...extra }),
    storage,
    ...(s3 ? { s3 } : {}),
    api,
    async startWorker(workerEnv = {}) {
      const worker = await runWorker(loadConfig({ ...baseEnv, DATA_DIR: ownDataDir(), ...workerEnv }), log);
      workers.push(worker);
      return worker;
    },
    async submit(files, fields = {}, headers = {}, signal) {
      const form = new FormData();
      for (const [key, value] of Object.entries(fields)) form.append(key, value);
      for (const file of files) form.append('file', new Blob([file.data]), file.name);
      return fetch(`${url}/v1/jobs`, {
        method: 'POST',
        body: form,
        headers: { ...auth, ...headers },
        ...(signal ? { signal } : {}),
      });
    },
    async waitFor(id, done, timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const doc = (await (await fetch(`${url}/v1/jobs/${id}`, { headers: auth })).json()) as DocumentState;
        if (done(doc)) return doc;
        if (Date.now() > until) throw new Error(`job ${id} still ${doc.status} after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stored(id) {
      const { root } = documentKeys(id);
      const keys: string[] = [];
      for await (const { key } of api.blobs.list(root)) keys.push(key.slice(root.length));
      return keys.sort();
    },
    async stop() {
      await Promise.all(workers.map((worker) => worker.close(10_000)));
      await new Promise((resolve) => server.close(resolve));
      await api.close();
      await redis?.stop();
      await cluster?.stop();
      await s3?.stop();
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
}

export const finished = (doc: DocumentState) => FINISHED_STATUSES.has(doc.status);

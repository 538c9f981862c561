import { mkdir } from 'node:fs/promises';
import {
  createRedis,
  Dispatcher,
  DocumentLedger,
  EventBell,
  HeartbeatStore,
  openBlobStore,
  TenantDirectory,
  UsageStore,
  uploadsDir,
  warnUnlessNoEviction,
  type Config,
  type Logger,
} from '@pagefleet/shared';
import { sweepStaleUploads } from './ingest/stale-uploads.js';
import { createApiMetrics } from './metrics.js';
import type { ServerDeps } from './server.js';

export interface ApiDeps extends ServerDeps {
  /** Ends event streams, so that the HTTP server can close. */
  endStreams(): void;
  close(): Promise<void>;
}

/** Everything the API talks to, wired from the config: Redis, the queues, the blob store and the ledger. */
export async function connectApi(config: Config, log: Logger): Promise<ApiDeps> {
  await mkdir(uploadsDir(config.DATA_DIR), { recursive: true });
  const blobs = await openBlobStore(config);
  const redis = createRedis(config, { kind: 'producer', commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS }, log);
  redis.once('ready', () => void warnUnlessNoEviction(redis, log));
  const dispatch = new Dispatcher(config, redis, log);
  if (config.ADMIN_DASHBOARD && !config.API_KEYS && !config.TENANTS && !config.ADMIN_API_KEYS) {
    log.warn(
      'ADMIN_DASHBOARD is on without ADMIN_API_KEYS: anyone who reaches the API can retry and remove jobs at /admin/queues',
    );
  }
  // Its own connection: one subscribed takes no other commands.
  const bell = new EventBell(createRedis(config, { kind: 'consumer' }, log), config.QUEUE_PREFIX, log);
  const stopping = new AbortController();
  const stopSweeps = sweepStaleUploads(uploadsDir(config.DATA_DIR), config.CLEANUP_INTERVAL_MS, log);
  return {
    config,
    log,
    redis,
    blobs,
    ledger: new DocumentLedger(redis, blobs, {
      prefix: config.QUEUE_PREFIX,
      ttlSeconds: config.RESULT_TTL,
      ingestLeaseMs: config.INGEST_LEASE_MS,
      restart: (job) => dispatch.requeueDocument(job),
    }),
    bell,
    heartbeats: new HeartbeatStore(redis, config.QUEUE_PREFIX, config.HEARTBEAT_INTERVAL_MS),
    metrics: createApiMetrics({ all: dispatch.all, pages: dispatch.pageQueues }, redis, log),
    dispatch,
    tenants: new TenantDirectory(config),
    usage: new UsageStore(redis, config.QUEUE_PREFIX),
    stopping: stopping.signal,
    endStreams: () => stopping.abort(),
    async close() {
      stopping.abort();
      stopSweeps();
      await dispatch.close();
      bell.close();
      await redis.quit().catch(() => undefined);
    },
  };
}

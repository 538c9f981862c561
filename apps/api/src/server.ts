import { readFileSync } from 'node:fs';
import os from 'node:os';
import express, { type RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { RedisClient } from '@pagefleet/shared';
import {
  keyDigest,
  type TenantDirectory,
  type UsageStore,
  type BlobStore,
  type Config,
  type Dispatcher,
  type DocumentLedger,
  type EventBell,
  type HeartbeatStore,
  type Logger,
} from '@pagefleet/shared';
import { requireApiKey } from './auth.js';
import { DASHBOARD_PATH, queueDashboard } from './dashboard.js';
import { securityHeaders } from './headers.js';
import { metricsHandler, routeBase, timeRequests, type ApiMetrics } from './metrics.js';
import { createLimiter } from './ingest/limiter.js';
import { openApiDocument } from './openapi.js';
import { errorHandler, notFound } from './problem.js';
import { referencePage } from './reference-page.js';
import { webPage } from './web-page.js';
import { healthRouter } from './routes/health.js';
import { jobsRouter } from './routes/jobs.js';
import { usageRouter } from './routes/usage.js';
import { workersRouter } from './routes/workers.js';

export interface ServerDeps {
  config: Config;
  log: Logger;
  redis: RedisClient;
  ledger: DocumentLedger;
  /** Rings event streams as their documents' events are written. */
  bell: EventBell;
  /** Where the ledger keeps every byte of a document. */
  blobs: BlobStore;
  heartbeats: HeartbeatStore;
  metrics: ApiMetrics;
  /** Aborts when the server shuts down: long-lived responses (event streams) end. */
  stopping: AbortSignal;
  /** The queue side: every job added or removed goes through it. */
  dispatch: Dispatcher;
  /** Who each key belongs to, and each tenant's limits. */
  tenants: TenantDirectory;
  usage: UsageStore;
}

// The same file from src (tests) and dist (production).
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** Probes and scrapes come every few seconds: a log line each would drown the rest. */
const UNLOGGED = new Set(['/health', '/ready', '/metrics']);

export function createServer(deps: ServerDeps): express.Express {
  const redisReady = () => deps.redis.status === 'ready';
  const app = express();
  app.disable('x-powered-by');
  if (deps.config.TRUST_PROXY) app.set('trust proxy', true);
  app.use(securityHeaders);
  app.use(timeRequests(deps.metrics));
  app.use(pinoHttp({ logger: deps.log, autoLogging: { ignore: (req) => UNLOGGED.has(req.url ?? '') } }));
  // Probes and the scrape stay open whatever API_KEYS says: orchestrators and Prometheus call
  // them without credentials, and they tell nothing of any document.
  app.use(healthRouter(deps.redis, deps.blobs, deps.config));
  app.get('/metrics', metricsHandler(deps.metrics.registry));
  // The contract is no secret: clients and generators read it before they hold a key.
  const contract = openApiDocument(deps.config, version);
  app.get('/openapi.json', (_req, res) => {
    res.json(contract);
  });
  app.get('/docs', referencePage(contract));
  app.use(webPage());
  const { API_KEYS, ADMIN_API_KEYS, TENANTS } = deps.config;
  const owners = new Map([...deps.tenants.digests].map(([digest, tenant]) => [digest, tenant.name]));
  if (API_KEYS || TENANTS) app.use('/v1', requireApiKey(owners));
  // What spans every tenant takes an administrator's key wherever keys are in use.
  const adminDigests = new Set((ADMIN_API_KEYS ?? []).map(keyDigest));
  const admins = new Map([...owners].filter(([digest]) => adminDigests.has(digest)));
  const others = [...owners.keys()].filter((digest) => !adminDigests.has(digest));
  const admin = (basic: boolean): RequestHandler =>
    API_KEYS || ADMIN_API_KEYS || TENANTS
      ? requireApiKey(admins, { basic, insufficient: others })
      : (_req, _res, next) => next();
  // One inspection (a pdfinfo child, an image header) per CPU: past that, concurrent uploads would
  // only add children and memory, not speed (bench:memory).
  const inspections = createLimiter(os.availableParallelism());
  app.use('/v1/jobs', routeBase, jobsRouter({ ...deps, redisReady, inspections }));
  app.use('/v1/workers', routeBase, admin(false), workersRouter(deps.heartbeats));
  app.use('/v1/usage', routeBase, usageRouter(deps.usage, deps.tenants, admin(false)));
  if (deps.config.ADMIN_DASHBOARD) app.use(DASHBOARD_PATH, queueDashboard(deps.dispatch.all, admin(true)));
  app.use(notFound);
  app.use(errorHandler(deps.config, deps.log, redisReady, () => deps.metrics.redisRefusals.inc()));
  return app;
}

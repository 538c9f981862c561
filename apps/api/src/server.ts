import express from 'express';
import { pinoHttp } from 'pino-http';
import type { Queue, FlowProducer } from 'bullmq';
import type { Redis } from 'ioredis';
import { uploadsDir, type Config, type DocumentStore, type Logger } from '@pagefleet/shared';
import { requireApiKey } from './auth.js';
import { securityHeaders } from './headers.js';
import { errorHandler, notFound } from './problem.js';
import { healthRouter } from './routes/health.js';
import { jobsRouter } from './routes/jobs.js';

export interface ServerDeps {
  config: Config;
  log: Logger;
  redis: Redis;
  documents: DocumentStore;
  flows: FlowProducer;
  queues: { documents: Queue; pages: Queue[] };
}

export function createServer(deps: ServerDeps): express.Express {
  const redisReady = () => deps.redis.status === 'ready';
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders);
  app.use(pinoHttp({ logger: deps.log, autoLogging: { ignore: (req) => req.url === '/health' } }));
  // Probes stay open whatever API_KEYS says: orchestrators call them without credentials.
  app.use(healthRouter(deps.redis, [deps.config.DATA_DIR, uploadsDir(deps.config.DATA_DIR)]));
  if (deps.config.API_KEYS) app.use('/v1', requireApiKey(deps.config.API_KEYS));
  app.use('/v1/jobs', jobsRouter({ ...deps, redisReady }));
  app.use(notFound);
  app.use(errorHandler(deps.config, deps.log, redisReady));
  return app;
}

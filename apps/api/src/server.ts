import express from 'express';
import { pinoHttp } from 'pino-http';
import type { Queue, FlowProducer } from 'bullmq';
import type { Redis } from 'ioredis';
import { uploadsDir, type Config, type DocumentStore, type Logger } from '@pagefleet/shared';
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
  app.use(pinoHttp({ logger: deps.log, autoLogging: { ignore: (req) => req.url === '/health' } }));
  app.use(healthRouter(deps.redis, [deps.config.DATA_DIR, uploadsDir(deps.config.DATA_DIR)]));
  app.use('/v1/jobs', jobsRouter({ ...deps, redisReady }));
  app.use(notFound);
  app.use(errorHandler(deps.config, deps.log, redisReady));
  return app;
}

import { mkdir } from 'node:fs/promises';
import { FlowProducer, Queue } from 'bullmq';
import { createRedis, DocumentStore, QUEUES, uploadsDir, type Config, type Logger } from '@pagefleet/shared';
import type { ServerDeps } from './server.js';

export interface ApiDeps extends ServerDeps {
  close(): Promise<void>;
}

/** Everything the API talks to, wired from the config: Redis, the queues, the document store. */
export async function connectApi(config: Config, log: Logger): Promise<ApiDeps> {
  await mkdir(uploadsDir(config.DATA_DIR), { recursive: true });
  const redis = createRedis(config.REDIS_URL, 'producer', log);
  const connection = { connection: redis, prefix: config.QUEUE_PREFIX };
  const queues = { documents: new Queue(QUEUES.documents, connection), pages: new Queue(QUEUES.pages, connection) };
  const flows = new FlowProducer(connection);
  const onQueueError = (err: Error) => log.warn({ err }, 'queue error');
  queues.documents.on('error', onQueueError);
  queues.pages.on('error', onQueueError);
  flows.on('error', onQueueError);
  return {
    config,
    log,
    redis,
    documents: new DocumentStore(redis, config.QUEUE_PREFIX, config.RESULT_TTL),
    flows,
    queues,
    async close() {
      await Promise.all([queues.documents.close(), queues.pages.close(), flows.close()]);
      await redis.quit().catch(() => undefined);
    },
  };
}

import type { RequestHandler } from 'express';
import type { Queue } from 'bullmq';
import type { RedisClient } from '@pagefleet/shared';
import {
  Counter,
  createRegistry,
  Gauge,
  Histogram,
  HTTP_SECONDS_BUCKETS,
  type Logger,
  type Registry,
} from '@pagefleet/shared';
import { oldestWaitingTimestamp } from './oldest-waiting.js';

/** The BullMQ states autoscaling and alerts read; `completed` is left out: it only grows until trimmed. */
export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'waiting-children'] as const;

export interface ApiMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  uploads: Counter;
  uploadedBytes: Counter;
  documentsSubmitted: Counter;
  pagesSubmitted: Counter;
  rejected: Counter<'reason'>;
  redisRefusals: Counter;
}

export interface QueueSources {
  /** Every queue whose depth is exposed. */
  all: Queue[];
  /** The page queues, whose oldest waiting page is exposed. */
  pages: Queue[];
}

/**
 * The API's metrics. Queue depth is read from Redis at scrape time, here and not in the workers:
 * the API is scraped once per replica whatever the number of workers, and autoscaling reads it.
 */
export function createApiMetrics(queues: QueueSources, redis: RedisClient, log: Logger): ApiMetrics {
  const registry = createRegistry();
  const registers = [registry];
  new Gauge({
    name: 'pagefleet_queue_jobs',
    help: 'Jobs in each queue by BullMQ state, read from Redis at scrape time; absent while Redis is unreachable.',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      this.reset();
      try {
        const counts = await Promise.all(queues.all.map((queue) => queue.getJobCounts(...QUEUE_STATES)));
        queues.all.forEach((queue, i) => {
          for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[i]?.[state] ?? 0);
        });
      } catch (err) {
        log.warn({ err }, 'queue depth unavailable for metrics');
      }
    },
  });
  new Gauge({
    name: 'pagefleet_queue_oldest_waiting_seconds',
    help: "Age of the oldest page waiting for a worker (takeable, or held for its tenant's turn), by page queue (0 when none waits); absent while Redis is unreachable.",
    labelNames: ['queue'],
    registers,
    async collect() {
      this.reset();
      try {
        const stamps = await Promise.all(queues.pages.map((queue) => oldestWaitingTimestamp(redis, queue)));
        const now = Date.now();
        queues.pages.forEach((queue, i) => {
          const stamp = stamps[i];
          this.set({ queue: queue.name }, stamp === undefined ? 0 : Math.max(0, (now - stamp) / 1000));
        });
      } catch (err) {
        log.warn({ err }, 'oldest waiting page unavailable for metrics');
      }
    },
  });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'pagefleet_http_request_duration_seconds',
      help: 'Time from a request arriving to its response being sent, by method, route template and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_SECONDS_BUCKETS,
      registers,
    }),
    uploads: new Counter({
      name: 'pagefleet_uploads_total',
      help: 'Files received whole by the API, accepted or not.',
      registers,
    }),
    uploadedBytes: new Counter({
      name: 'pagefleet_uploaded_bytes_total',
      help: 'Bytes of the files received whole by the API.',
      registers,
    }),
    documentsSubmitted: new Counter({
      name: 'pagefleet_documents_submitted_total',
      help: 'Documents accepted and queued.',
      registers,
    }),
    pagesSubmitted: new Counter({
      name: 'pagefleet_pages_submitted_total',
      help: 'Pages of the documents accepted and queued.',
      registers,
    }),
    rejected: new Counter({
      name: 'pagefleet_submissions_rejected_total',
      help: 'Submissions refused, by the problem code answered (too_large, bad_type, encrypted, backpressure, busy, …).',
      labelNames: ['reason'],
      registers,
    }),
    redisRefusals: new Counter({
      name: 'pagefleet_redis_write_refusals_total',
      help: 'Requests answered 503 because Redis refused a write (full under noeviction, read-only, failing its disk, loading).',
      registers,
    }),
  };
}

/** Methods outside this set share one label value, so that a client cannot invent label values. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Times every request. The route label is the matched template (`/v1/jobs/:id`), never the URL,
 * so job ids stay out of labels; a request no route matched (a 404, a 401 before routing) is
 * `unmatched`.
 */
export function timeRequests(metrics: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpDuration.startTimer();
    res.once('finish', () => {
      const template = req.route
        ? `${(res.locals.routeBase as string | undefined) ?? ''}${String((req.route as { path: unknown }).path)}`
        : 'unmatched';
      end({
        method: METHODS.has(req.method) ? req.method : 'other',
        route: template.length > 1 ? template.replace(/\/$/, '') : template,
        status: String(res.statusCode),
      });
    });
    next();
  };
}

/** Mounted before a router: keeps its mount path for the route label (Express resets `baseUrl` on the way out). */
export const routeBase: RequestHandler = (req, res, next) => {
  res.locals.routeBase = req.baseUrl;
  next();
};

/** Counts the refusals of a route by the problem code it answered (`sendProblem` leaves it in `res.locals`). */
export function countRejections(metrics: ApiMetrics): RequestHandler {
  return (_req, res, next) => {
    res.once('finish', () => {
      if (res.statusCode >= 400)
        metrics.rejected.inc({ reason: (res.locals.problemCode as string | undefined) ?? 'unknown' });
    });
    next();
  };
}

/** Serves the registry in Prometheus' text format. */
export function metricsHandler(registry: Registry): RequestHandler {
  return async (_req, res) => {
    const body = await registry.metrics();
    res.type(registry.contentType).send(body);
  };
}

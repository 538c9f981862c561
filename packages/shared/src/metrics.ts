import { collectDefaultMetrics, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric pagefleet exposes starts with this, the process metrics of prom-client included. */
export const METRIC_PREFIX = 'pagefleet_';

/**
 * A private registry (never prom-client's global one: tests run an API and several workers in one
 * process) with Node's process metrics: RSS, heap, event loop lag, GC.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}

/** Seconds of a page or one of its stages: a blank page takes a tenth of a second, a poster at 600 DPI minutes. */
export const PAGE_SECONDS_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300];

/** Seconds of an HTTP request: reads answer in milliseconds, uploads of 100 MiB take seconds. */
export const HTTP_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

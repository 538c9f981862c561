import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { CONFIG_VARIABLES, createLogger, loadConfig } from '@pagefleet/shared';
import { configurationMarkdown } from '../scripts/docs/configuration.js';
import { createApiMetrics } from '../apps/api/src/metrics.js';
import { createWorkerMetrics } from '../apps/worker/src/metrics.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Every metric name either app registers, with the series names its histograms add. */
function exposedNames(): Set<string> {
  const log = createLogger(loadConfig({ LOG_LEVEL: 'silent' }), 'test');
  // Collectors that read Redis only run on a scrape, which this test never does.
  const api = createApiMetrics({ all: [], pages: [] }, {} as Redis, log);
  const worker = createWorkerMetrics(() => new Map());
  const names = new Set<string>();
  for (const metric of [...api.registry.getMetricsAsArray(), ...worker.registry.getMetricsAsArray()]) {
    names.add(metric.name);
    for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

/** Metrics pagefleet itself defines (not prom-client's process metrics). */
const OWN = /^pagefleet_(?!process_|nodejs_)/;

test('docs/observability.md lists every metric the apps expose, and nothing they do not', async () => {
  const page = await readFile(path.join(root, 'docs', 'observability.md'), 'utf8');
  const documented = new Set(page.match(/pagefleet_[a-z0-9_]*[a-z0-9]/g));
  const exposed = exposedNames();
  const own = [...exposed].filter((name) => OWN.test(name) && !/_(bucket|sum|count)$/.test(name));
  assert.ok(own.length >= 20, `${own.length} metrics`);
  assert.deepEqual(
    own.filter((name) => !documented.has(name)),
    [],
    'exposed but not in docs/observability.md',
  );
  assert.deepEqual(
    [...documented].filter((name) => !exposed.has(name)),
    [],
    'in docs/observability.md but not exposed',
  );
});

test('every series the Grafana dashboard queries is exposed', async () => {
  const dashboard = JSON.parse(await readFile(path.join(root, 'docs', 'grafana', 'pagefleet.json'), 'utf8')) as {
    panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  };
  const exposed = exposedNames();
  const queried = dashboard.panels.flatMap((panel) =>
    panel.targets.flatMap((target) => target.expr.match(/pagefleet_[a-z0-9_]+/g) ?? []),
  );
  assert.ok(queried.length > 10);
  assert.deepEqual(
    queried.filter((name) => !exposed.has(name)),
    [],
  );
  for (const required of [
    'pagefleet_queue_jobs',
    'pagefleet_pages_processed_total',
    'pagefleet_page_stage_duration_seconds_bucket',
    'pagefleet_worker_memory_budget_bytes',
  ]) {
    assert.ok(queried.includes(required), required);
  }
});

test('docs/configuration.md is what the config schema generates (npm run docs)', async () => {
  const page = await readFile(path.join(root, 'docs', 'configuration.md'), 'utf8');
  assert.equal(page, configurationMarkdown(), 'run `npm run docs` after changing the config schema');
  for (const name of CONFIG_VARIABLES) assert.ok(page.includes(`| \`${name}\` |`), name);
});

test('every relative link in README, CONTRIBUTING and docs/ points at a file that exists', async () => {
  const pages = [
    'README.md',
    'CONTRIBUTING.md',
    ...(await readdir(path.join(root, 'docs'))).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`),
  ];
  const broken: string[] = [];
  for (const page of pages) {
    const text = await readFile(path.join(root, page), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (!target || /^[a-z]+:/.test(target) || target.startsWith('../shared/')) continue;
      if (!existsSync(path.resolve(root, path.dirname(page), target))) broken.push(`${page}: ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});

import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DocumentState, PageResult } from '@pagefleet/shared';
import { freePort } from '../../lib/redis-server.js';
import { collect, readSse } from '../../lib/sse.js';
import { startApp, waitReady, type AppProcess } from '../../lib/apps.js';
import { PeakSampler } from './rss.js';

export interface FleetOptions {
  redisUrl: string;
  workDir: string;
  logFile: string;
  documents: string[];
  pageCount: number;
  dpi: number;
  /** Worker processes, and page slots in each. */
  workers: number;
  slots: number;
  /** Form fields of every submission (forceOcr, pages…). */
  fields?: Record<string, string>;
  /**
   * Documents read (with the same fields) before the timed ones, as a worker that has been running
   * has read others: the first pages of a fresh process run cold code and load libraries on first use.
   */
  warmUp?: string[];
  /** More environment for the API and workers (STORAGE=s3 and its S3_* variables). */
  env?: Record<string, string>;
}

export interface FleetRun {
  seconds: number;
  pagesPerMinute: number;
  /** Mean seconds per page in each stage, from the workers' own timings. */
  stageSecondsPerPage: Record<string, number>;
  /** Highest resident memory of any worker process (its children included) while the documents ran. */
  workerPeakBytes: number;
  /** Every page's result, in document order. */
  pages: Array<Pick<PageResult, 'page' | 'method' | 'text' | 'words'> & { durations: Record<string, number> }>;
  /** Bytes the workers copied from object storage to read their pages (pagefleet_page_input_fetched_bytes_total). */
  fetchedBytes: number;
}

/** A sample's value on a worker's /metrics (`name` with its labels, as exposed). */
async function metricValue(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((each) => each.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** Until the worker's threads for hybrid pages' images have started: they start beside its first pages. */
async function waitWarm(port: number, deadlineMs = 60_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  const threads = (state: string) => metricValue(port, `pagefleet_image_region_threads{state="${state}"}`);
  while ((await threads('started')) < (await threads('planned'))) {
    if (Date.now() > until) throw new Error(`worker ${port}'s region threads did not start within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Follows a job's Server-Sent Events to its `end` event, and returns the final document. */
async function untilEnd(eventsUrl: string): Promise<DocumentState> {
  const messages = await collect(readSse(await fetch(eventsUrl)), (message) => message.event === 'end');
  const end = messages.at(-1);
  if (end?.event !== 'end') throw new Error(`${eventsUrl} closed before the job ended`);
  return JSON.parse(end.data ?? '') as DocumentState;
}

/**
 * pagefleet end to end as clients use it: the API and worker processes (already warmed up) against
 * one Redis; every document submitted at once and followed through its event stream (no polling
 * loop competing with the workers for CPU); timed from the first submission to the last page.
 */
export async function runFleet(options: FleetOptions): Promise<FleetRun> {
  const apiPort = await freePort();
  const dataDir = path.join(options.workDir, `data-${Date.now()}`);
  const env: Record<string, string> = {
    REDIS_URL: options.redisUrl,
    QUEUE_PREFIX: `bench-${options.workers}x${options.slots}-${Date.now()}`,
    DATA_DIR: dataDir,
    PORT: String(apiPort),
    LOG_LEVEL: 'warn',
    DEFAULT_DPI: String(options.dpi),
    ...options.env,
  };
  // With object storage, each process has a disk of its own: nothing passes through a shared one.
  const ownDataDirs = env.STORAGE === 's3';
  const dataDirs = [dataDir];
  const url = `http://127.0.0.1:${apiPort}`;
  const apps: AppProcess[] = [startApp('api', env, { logFile: options.logFile })];
  try {
    await waitReady(url);
    const ports = await Promise.all(Array.from({ length: options.workers }, () => freePort()));
    for (const port of ports) {
      const workerDir = ownDataDirs ? `${dataDir}-worker-${port}` : dataDir;
      if (ownDataDirs) dataDirs.push(workerDir);
      const workerEnv = {
        ...env,
        DATA_DIR: workerDir,
        WORKER_CONCURRENCY: String(options.slots),
        WORKER_QUEUES: 'pages',
        WORKER_PORT: String(port),
      };
      apps.push(startApp('worker', workerEnv, { logFile: options.logFile }));
    }
    // Ready once its OCR engine has started, and warm once its region threads have: start-up is not timed.
    await Promise.all(ports.map((port) => waitReady(`http://127.0.0.1:${port}`, 60_000)));
    await Promise.all(ports.map((port) => waitWarm(port)));

    /** Submits `files` at once and follows each to its end; their ids, once every one has completed. */
    const read = async (files: string[]) => {
      const bodies = await Promise.all(files.map((file) => readFile(file)));
      const ids = await Promise.all(
        bodies.map(async (bytes, i) => {
          const form = new FormData();
          for (const [name, value] of Object.entries(options.fields ?? {})) form.append(name, value);
          form.append('file', new Blob([bytes]), `doc-${i}.pdf`);
          const response = await fetch(`${url}/v1/jobs`, { method: 'POST', body: form });
          if (response.status !== 202)
            throw new Error(`submission answered ${response.status}: ${await response.text()}`);
          return ((await response.json()) as { id: string }).id;
        }),
      );
      const finished = await Promise.all(ids.map((id) => untilEnd(`${url}/v1/jobs/${id}/events`)));
      const failed = finished.filter((doc) => doc.status !== 'completed');
      if (failed.length > 0)
        throw new Error(`${failed.length} documents did not complete: ${JSON.stringify(failed[0])}`);
      return ids;
    };
    const fetchedBytes = async () => {
      const bytes = await Promise.all(
        ports.map((port) => metricValue(port, 'pagefleet_page_input_fetched_bytes_total')),
      );
      return bytes.reduce((sum, each) => sum + each, 0);
    };
    if (options.warmUp) await read(options.warmUp);
    const fetchedBefore = await fetchedBytes();

    const sampler = new PeakSampler(50);
    apps.slice(1).forEach((worker, i) => sampler.track(`worker-${i}`, worker.pid));
    const started = performance.now();
    const ids = await read(options.documents);
    const seconds = (performance.now() - started) / 1000;
    const workerPeakBytes = Math.max(...apps.slice(1).map((_, i) => sampler.peak(`worker-${i}`)));
    sampler.stop();
    const stages: Record<string, number> = {};
    const results: FleetRun['pages'] = [];
    for (const id of ids) {
      const { pages } = (await (await fetch(`${url}/v1/jobs/${id}/result?limit=1000`)).json()) as {
        pages: FleetRun['pages'];
      };
      results.push(...pages);
      for (const page of pages)
        for (const [stage, ms] of Object.entries(page.durations)) stages[stage] = (stages[stage] ?? 0) + ms;
    }
    return {
      seconds,
      fetchedBytes: (await fetchedBytes()) - fetchedBefore,
      pagesPerMinute: (options.pageCount * 60) / seconds,
      workerPeakBytes,
      pages: results,
      stageSecondsPerPage: Object.fromEntries(
        Object.entries(stages).map(([stage, ms]) => [stage, ms / 1000 / options.pageCount]),
      ),
    };
  } finally {
    await Promise.all(apps.map((app) => app.stop()));
    await Promise.all(dataDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

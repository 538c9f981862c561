import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Queue } from 'bullmq';
import { documentPaths, isJobId, uploadsDir, type DocumentStore } from '@pagefleet/shared';

/**
 * A document's folder exists a moment before its state in Redis (the API moves the files in, then
 * queues): folders younger than this are never taken for expired ones.
 */
const SUBMISSION_GRACE_MS = 10 * 60_000;

/** An upload untouched this long was left by an API process that died while receiving it. */
const ORPHAN_UPLOAD_MS = 60 * 60_000;

/** Finished BullMQ jobs removed per queue and state in one run; the next run takes the rest. */
const CLEAN_BATCH = 10_000;

export interface CleanupDeps {
  dataDir: string;
  documents: DocumentStore;
  /** Queues whose finished jobs are removed once older than the TTL. */
  queues: Queue[];
  ttlSeconds: number;
}

export interface CleanupSummary {
  documents: number;
  uploads: number;
  jobs: number;
}

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
}

async function olderThan(file: string, ageMs: number, now: number): Promise<boolean> {
  const info = await stat(file).catch(() => undefined);
  return info !== undefined && now - info.mtimeMs > ageMs;
}

/**
 * Removes what RESULT_TTL has expired. Redis expires a document's state by itself; its files, the
 * uploads of a crashed API and finished BullMQ jobs (which BullMQ trims only when another job
 * finishes) are removed here.
 */
export async function cleanExpired(deps: CleanupDeps, now = Date.now()): Promise<CleanupSummary> {
  const summary: CleanupSummary = { documents: 0, uploads: 0, jobs: 0 };
  for (const id of await entries(path.join(deps.dataDir, 'jobs'))) {
    if (!isJobId(id) || (await deps.documents.exists(id))) continue;
    const { root } = documentPaths(deps.dataDir, id);
    if (!(await olderThan(root, SUBMISSION_GRACE_MS, now))) continue;
    await rm(root, { recursive: true, force: true });
    summary.documents++;
  }
  const uploads = uploadsDir(deps.dataDir);
  for (const name of await entries(uploads)) {
    const file = path.join(uploads, name);
    if (!(await olderThan(file, ORPHAN_UPLOAD_MS, now))) continue;
    await rm(file, { force: true });
    summary.uploads++;
  }
  for (const queue of deps.queues) {
    for (const state of ['completed', 'failed'] as const) {
      summary.jobs += (await queue.clean(deps.ttlSeconds * 1000, CLEAN_BATCH, state)).length;
    }
  }
  return summary;
}

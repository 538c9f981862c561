import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Queue } from 'bullmq';
import { uploadsDir, type DocumentLedger } from '@pagefleet/shared';

/** An upload untouched this long was left by an API process that died while receiving it. */
const ORPHAN_UPLOAD_MS = 60 * 60_000;

/** Finished BullMQ jobs removed per queue and state in one run; the next run takes the rest. */
const CLEAN_BATCH = 10_000;

export interface CleanupDeps {
  dataDir: string;
  ledger: DocumentLedger;
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
 * Removes what RESULT_TTL has expired. Redis expires a document's state by itself; its stored
 * objects (the ledger), the uploads of a crashed API and finished BullMQ jobs (which BullMQ trims
 * only when another job finishes) are removed here.
 */
export async function cleanExpired(deps: CleanupDeps, now = Date.now()): Promise<CleanupSummary> {
  const summary: CleanupSummary = { documents: await deps.ledger.expire(), uploads: 0, jobs: 0 };
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

import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@pagefleet/shared';

/**
 * An upload untouched this long was left by an API process that died while receiving it (one
 * being received is written to as its bytes arrive).
 */
const STALE_UPLOAD_MS = 60 * 60_000;

/** Removes the stale uploads in `dir`; resolves with how many there were. */
async function removeStaleUploads(dir: string): Promise<number> {
  const now = Date.now();
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  let removed = 0;
  for (const name of names) {
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => undefined);
    if (!info || now - info.mtimeMs <= STALE_UPLOAD_MS) continue;
    await rm(file, { force: true });
    removed++;
  }
  return removed;
}

/**
 * Each API process sweeps its uploads folder every `intervalMs`: with object storage that folder
 * is its own disk, which no worker sees. Returns the function that stops the sweeps.
 */
export function sweepStaleUploads(dir: string, intervalMs: number, log: Logger): () => void {
  const timer = setInterval(() => {
    removeStaleUploads(dir).then(
      (removed) => removed > 0 && log.info({ removed }, 'stale uploads removed'),
      (err: unknown) => log.warn({ err }, 'could not sweep stale uploads'),
    );
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

import { statfs } from 'node:fs/promises';

/** Bytes an unprivileged process may still write to the filesystem that holds `dir`. */
export async function freeDiskBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

/** Whether the filesystem holding `dir` keeps at least `floorBytes` free; false when it cannot be read. */
export async function hasFreeSpace(dir: string, floorBytes: number): Promise<boolean> {
  return freeDiskBytes(dir).then(
    (free) => free >= floorBytes,
    () => false,
  );
}

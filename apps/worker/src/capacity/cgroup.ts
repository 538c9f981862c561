import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** Limits the kernel enforces on this process's control group, where it has any. */
export interface CgroupLimits {
  version: 'v2' | 'v1';
  memoryBytes?: number;
  cpus?: number;
}

export interface CgroupPaths {
  /** Where the cgroup filesystem is mounted. */
  root: string;
  /** This process's membership, as in /proc/self/cgroup. */
  membership: string;
}

const SYSTEM: CgroupPaths = { root: '/sys/fs/cgroup', membership: '/proc/self/cgroup' };

// cgroup v1 writes "no limit" as the largest page-aligned signed 64-bit number.
const UNLIMITED_V1 = 2 ** 62;

async function read(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/**
 * Folders from this process's own cgroup up to the root: a limit set on any ancestor applies too,
 * and inside a container (its own cgroup namespace) the list is just the root.
 */
function lineage(root: string, member: string): string[] {
  const folders: string[] = [];
  for (let dir = path.posix.normalize(`/${member}`); ; dir = path.posix.dirname(dir)) {
    folders.push(path.join(root, dir));
    if (dir === '/') return folders;
  }
}

/** The smallest of the values found, or undefined where no folder sets one. */
async function tightest(files: string[], parse: (text: string) => number | undefined): Promise<number | undefined> {
  const values: number[] = [];
  for (const file of files) {
    const text = await read(file);
    const value = text === undefined ? undefined : parse(text);
    if (value !== undefined) values.push(value);
  }
  return values.length ? Math.min(...values) : undefined;
}

const positive = (value: number) => (Number.isFinite(value) && value > 0 ? value : undefined);

async function readV2(root: string, membership: string): Promise<CgroupLimits> {
  const member = /^0::(.*)$/m.exec(membership)?.[1] ?? '/';
  const folders = lineage(root, member);
  const memoryBytes = await tightest(
    folders.map((dir) => path.join(dir, 'memory.max')),
    (text) => (text === 'max' ? undefined : positive(Number(text))),
  );
  // cpu.max is "<quota> <period>" in microseconds, or "max <period>".
  const cpus = await tightest(
    folders.map((dir) => path.join(dir, 'cpu.max')),
    (text) => {
      const [quota, period] = text.split(/\s+/);
      return quota === 'max' ? undefined : positive(Number(quota) / Number(period));
    },
  );
  return { version: 'v2', memoryBytes, cpus };
}

async function readV1(root: string, membership: string): Promise<CgroupLimits> {
  const memberOf = (controller: string) =>
    new RegExp(`^\\d+:[^:]*\\b${controller}\\b[^:]*:(.*)$`, 'm').exec(membership)?.[1] ?? '/';
  const memoryFolders = lineage(path.join(root, 'memory'), memberOf('memory'));
  const memoryBytes = await tightest(
    memoryFolders.map((dir) => path.join(dir, 'memory.limit_in_bytes')),
    (text) => (Number(text) >= UNLIMITED_V1 ? undefined : positive(Number(text))),
  );
  const cpuFolders = lineage(path.join(root, 'cpu'), memberOf('cpu'));
  const quotas: number[] = [];
  for (const dir of cpuFolders) {
    const quota = Number(await read(path.join(dir, 'cpu.cfs_quota_us')));
    const period = Number(await read(path.join(dir, 'cpu.cfs_period_us')));
    const cpus = quota > 0 ? positive(quota / period) : undefined;
    if (cpus !== undefined) quotas.push(cpus);
  }
  return { version: 'v1', memoryBytes, cpus: quotas.length ? Math.min(...quotas) : undefined };
}

/** Reads cgroup v2, else v1; undefined where neither is mounted (not Linux, or no cgroup fs). */
export async function readCgroupLimits(paths: CgroupPaths = SYSTEM): Promise<CgroupLimits | undefined> {
  const membership = (await read(paths.membership)) ?? '';
  if ((await read(path.join(paths.root, 'cgroup.controllers'))) !== undefined) return readV2(paths.root, membership);
  if ((await read(path.join(paths.root, 'memory', 'memory.limit_in_bytes'))) !== undefined) {
    return readV1(paths.root, membership);
  }
  return undefined;
}

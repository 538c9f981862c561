import os from 'node:os';
import { findPaddleModels, type Config } from '@pagefleet/shared';
import { readCgroupLimits } from './cgroup.js';
import { planCapacity, type CapacityPlan } from './plan.js';
import { loadMemoryProfile } from './profile.js';

/** The capacity plan of this process: its config, its container's limits, its machine. */
export async function detectCapacity(config: Config): Promise<CapacityPlan> {
  return planCapacity({
    tier: config.WORKER_MEMORY_TIER,
    concurrency: config.WORKER_CONCURRENCY,
    queues: config.WORKER_QUEUES,
    cgroup: await readCgroupLimits(),
    machine: { memoryBytes: os.totalmem(), cpus: os.availableParallelism() },
    profile: loadMemoryProfile(),
    largePagePixels: config.LARGE_PAGE_PIXELS,
    maxPagePixels: config.MAX_PAGE_PIXELS,
    paddleInstalled: findPaddleModels() !== undefined,
  });
}

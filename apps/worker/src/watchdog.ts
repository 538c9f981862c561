import type { Worker } from 'bullmq';
import type { Logger, PageQueueName } from '@pagefleet/shared';

/** What the watchdog sees of one page queue at one look. */
export interface QueueLook {
  /** Slots of this worker free for the queue. */
  freeSlots: number;
  /** Pages ready to be taken (not delayed); undefined when Redis did not say in time. */
  waiting: number | undefined;
  /** When this worker last took a page of the queue, or started. */
  lastTakenAt: number;
}

/** What the watchdog remembers of one queue between looks. */
export interface QueueWatch {
  /** When it last reconnected the queue's BullMQ worker, if it has since the last page was taken. */
  reconnectedAt?: number;
  stuck: boolean;
}

export type WatchAction = 'none' | 'reconnect' | 'unready' | 'recovered';

/**
 * One look at a queue. A worker that has free slots and has taken no page for `idleMs` while
 * pages wait is not fetching (BullMQ workers that say they run but take nothing after a Redis
 * failover): first its BullMQ worker reconnects; `idleMs` later, still idle, it is stuck and its
 * `/ready` fails so that the orchestrator replaces it. A page taken clears both.
 */
export function lookAt(look: QueueLook, watch: QueueWatch, now: number, idleMs: number): WatchAction {
  if (watch.reconnectedAt !== undefined && look.lastTakenAt >= watch.reconnectedAt) return 'recovered';
  // Stuck stays stuck until a page is taken: the orchestrator restarts the worker meanwhile.
  if (watch.stuck) return 'none';
  const starved = look.freeSlots > 0 && (look.waiting ?? 0) > 0 && now - look.lastTakenAt >= idleMs;
  if (!starved) return watch.reconnectedAt === undefined ? 'none' : 'recovered';
  if (watch.reconnectedAt === undefined) return 'reconnect';
  return now - watch.reconnectedAt >= idleMs ? 'unready' : 'none';
}

export interface WatchedQueue {
  queue: PageQueueName;
  worker: Worker;
  look(): Promise<QueueLook>;
}

export interface WatchdogOptions {
  queues: WatchedQueue[];
  idleMs: number;
  onAction(queue: PageQueueName, action: 'reconnect' | 'unready'): void;
  log: Logger;
}

export interface Watchdog {
  /** False while some queue is stuck: `/ready` fails. */
  healthy(): boolean;
  stop(): void;
}

/** Looks at each page queue four times per `idleMs`. */
export function startWatchdog(options: WatchdogOptions): Watchdog {
  const { idleMs, log } = options;
  const watches = new Map<PageQueueName, QueueWatch>(options.queues.map(({ queue }) => [queue, { stuck: false }]));
  let looking = false;
  const round = async () => {
    if (looking) return;
    looking = true;
    try {
      for (const watched of options.queues) {
        const { queue, worker } = watched;
        const watch = watches.get(queue) as QueueWatch;
        const action = lookAt(await watched.look(), watch, Date.now(), idleMs);
        if (action === 'recovered') {
          if (watch.stuck) log.info({ queue }, 'watchdog: a page was taken again; ready');
          watches.set(queue, { stuck: false });
        } else if (action === 'reconnect') {
          watch.reconnectedAt = Date.now();
          log.warn({ queue, idleMs }, 'watchdog: pages wait and none was taken: reconnecting the queue');
          options.onAction(queue, action);
          // The blocking connection is the one that goes silent; BullMQ's loop takes pages again
          // on a fresh one.
          await worker.backend.disconnectBlocking(false).catch(() => undefined);
          await worker.backend
            .reconnectBlocking()
            .catch((err: unknown) => log.warn({ err, queue }, 'reconnect failed'));
        } else if (action === 'unready') {
          watch.stuck = true;
          log.error({ queue, idleMs }, 'watchdog: still no page taken after reconnecting; not ready');
          options.onAction(queue, action);
        }
      }
    } catch (err) {
      log.warn({ err }, 'watchdog look failed');
    } finally {
      looking = false;
    }
  };
  const timer = setInterval(() => void round(), Math.max(250, idleMs / 4));
  timer.unref();
  return {
    healthy: () => [...watches.values()].every((watch) => !watch.stuck),
    stop: () => clearInterval(timer),
  };
}

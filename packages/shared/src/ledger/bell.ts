import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis.js';
import { eventsKey, eventsPattern } from './state.js';

/** One event stream's listener: `wait` returns once the document has a new event, or after `ms`. */
export interface Door {
  wait(ms: number, signal: AbortSignal): Promise<void>;
  close(): void;
}

/**
 * Rings a document's event streams as the ledger writes its events: its scripts publish each one
 * on the stream's key as a channel, and one connection per process, subscribed to them all, rings
 * the doors of the streams that follow that document. A stream still looks on its own every so
 * often: a ring lost while the connection was down costs that wait, nothing more.
 */
export class EventBell {
  private readonly doors = new Map<string, Set<() => void>>();
  /** Settles once the connection has first subscribed, or failed to (logged). */
  readonly subscribed: Promise<void>;

  constructor(
    private readonly subscriber: RedisClient,
    private readonly prefix: string,
    log: Logger,
  ) {
    subscriber.on('pmessage', (_pattern: string, channel: string) => {
      for (const ring of this.doors.get(channel) ?? []) ring();
    });
    // ioredis subscribes again after every reconnect.
    this.subscribed = subscriber.psubscribe(eventsPattern(prefix)).then(
      () => undefined,
      (err: unknown) => log.warn({ err }, 'event streams not rung: they look for new events every so often'),
    );
  }

  /**
   * A door for one stream of a document, listening from now on: a ring between two waits (while
   * the stream read its events) makes the next wait return at once.
   */
  door(documentId: string): Door {
    const channel = eventsKey(this.prefix, documentId);
    let rung = false;
    let wake: AbortController | undefined;
    const ring = () => {
      rung = true;
      wake?.abort();
    };
    const rings = this.doors.get(channel) ?? new Set();
    rings.add(ring);
    this.doors.set(channel, rings);
    return {
      async wait(ms, signal) {
        if (!rung) {
          wake = new AbortController();
          await sleep(ms, undefined, { signal: AbortSignal.any([signal, wake.signal]) }).catch(() => undefined);
          wake = undefined;
        }
        rung = false;
      },
      close: () => {
        rings.delete(ring);
        if (rings.size === 0) this.doors.delete(channel);
      },
    };
  }

  /** Closes at once, Redis up or not: QUIT would wait for a Redis that is away. */
  close(): void {
    this.subscriber.disconnect();
  }
}

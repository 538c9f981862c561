import { isWriteRefusal, probeWrites, type Logger, type RedisClient } from '@pagefleet/shared';

/** How often a closed gate asks Redis whether it takes writes again. */
const PROBE_MS = 1000;

export interface WriteGateOptions {
  redis: RedisClient;
  /** The key the probe writes (under QUEUE_PREFIX). */
  probeKey: string;
  /** Called as Redis starts refusing writes: stop taking work. */
  onClose(): void;
  /** Called once Redis takes writes again, before anything waiting goes on: resume. */
  onOpen(): Promise<void>;
  /** Counts each refused write seen. */
  onRefused(): void;
  log: Logger;
}

/**
 * A worker's view of whether Redis takes writes. A Redis that is full (OOM under noeviction),
 * read-only, failing its disk or loading refuses them with an error reply, at once, where a dead
 * Redis makes commands wait: without this, every such reply would fail a page attempt and every
 * BullMQ worker would fetch again at once and spin. A refusal closes the gate: BullMQ workers
 * pause, work that needs a write waits, one probe a second asks Redis again, and the gate opens
 * when a write passes. One warning per outage, not one per refused command.
 */
export class WriteGate {
  private closedAt: number | undefined;
  private reopened: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: WriteGateOptions) {}

  get open(): boolean {
    return this.closedAt === undefined;
  }

  /**
   * Runs `fn`, which writes to Redis; while Redis refuses its writes, waits until it takes them
   * again and runs it again. Only for writes that are safe to repeat (the ledger's are).
   */
  async through<T>(fn: () => Promise<T>): Promise<T> {
    for (;;) {
      await this.reopened;
      try {
        return await fn();
      } catch (err) {
        if (!this.report(err) || this.stopped) throw err;
      }
    }
  }

  /** Takes note of an error seen anywhere (a BullMQ worker's); true when it was a refusal. */
  report(err: unknown): boolean {
    if (!isWriteRefusal(err)) return false;
    this.options.onRefused();
    if (this.closedAt === undefined && !this.stopped) this.close(err as Error);
    return true;
  }

  stop(): void {
    this.stopped = true;
  }

  private close(err: Error): void {
    this.closedAt = Date.now();
    this.options.log.warn({ err }, 'redis refuses writes: pages wait, nothing is taken until it takes them again');
    this.options.onClose();
    this.reopened = this.probe();
  }

  private async probe(): Promise<void> {
    while (!this.stopped && !(await probeWrites(this.options.redis, this.options.probeKey, PROBE_MS))) {
      await new Promise((resolve) => setTimeout(resolve, PROBE_MS));
    }
    if (this.stopped) return;
    await this.options.onOpen();
    this.options.log.info({ refusedMs: Date.now() - (this.closedAt ?? Date.now()) }, 'redis takes writes again');
    this.closedAt = undefined;
  }
}

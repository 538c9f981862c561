import type { DocumentLedger, Logger } from '@pagefleet/shared';

export interface LedgerWatchOptions {
  ledger: DocumentLedger;
  intervalMs: number;
  /** Called when Redis has lost its data, before the stored documents are reconciled. */
  onForgotten(): Promise<void>;
  log: Logger;
}

export interface LedgerWatch {
  /** Schedules nothing more; a look under way ends with the connection it uses. */
  stop(): void;
}

/**
 * Every interval: removes documents whose API died mid-ingest (a lapsed lease), and asks whether
 * Redis has lost its data (a restart without persistence, FLUSHALL, a failover that lost writes).
 * When it has, the one worker that notices first schedules the cleanup again and reconciles every
 * stored document with Redis: running documents are recovered, nothing is deleted that its own
 * saved state does not say has expired. The hourly cleanup reconciles too, for losses this misses
 * (a key evicted alone).
 */
export function watchLedger(options: LedgerWatchOptions): LedgerWatch {
  const { ledger, log } = options;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const look = async () => {
    try {
      const swept = await ledger.sweepIngests();
      if (swept > 0) log.warn({ documents: swept }, 'removed documents whose API died before accepting them');
      if (await ledger.forgotten()) {
        await options.onForgotten();
        const reconciled = await ledger.reconcile();
        log.warn(reconciled, 'redis had lost its data (or is new): stored documents reconciled');
      }
    } catch (err) {
      log.warn({ err }, 'ledger watch failed; trying again');
    }
  };
  const next = () => {
    if (stopped) return;
    timer = setTimeout(() => void look().then(next), options.intervalMs);
    timer.unref();
  };
  void look().then(next);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

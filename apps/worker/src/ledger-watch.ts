import type { DocumentLedger, Logger } from '@pagefleet/shared';
import { repeatEvery, type Repeating } from './repeat.js';

export interface LedgerWatchOptions {
  ledger: DocumentLedger;
  intervalMs: number;
  /** Called when Redis has lost its data, before the stored documents are reconciled. */
  onForgotten(): Promise<void>;
  log: Logger;
}

/**
 * Every interval: removes documents whose API died mid-ingest (a lapsed lease), and asks whether
 * Redis has lost its data (a restart without persistence, FLUSHALL, a failover that lost writes).
 * When it has, the one worker that notices first schedules the cleanup again and reconciles every
 * stored document with Redis: running documents are recovered, nothing is deleted that its own
 * saved state does not say has expired. The hourly cleanup reconciles too, for losses this misses
 * (a key evicted alone).
 */
export function watchLedger(options: LedgerWatchOptions): Repeating {
  const { ledger, log } = options;
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
  return repeatEvery(options.intervalMs, look);
}

import { createLogger, loadConfigOrExit } from '@pagefleet/shared';
import { CapacityError } from './capacity/plan.js';
import { runWorker } from './workers.js';

/** How long active pages may take to finish on shutdown before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 30_000;

const config = loadConfigOrExit();
const log = createLogger(config, 'worker');
const worker = await runWorker(config, log).catch((err: unknown) => {
  if (!(err instanceof CapacityError)) throw err;
  log.fatal(err.message);
  // EX_CONFIG, as for a bad variable: the budget set for this worker cannot run it.
  process.exit(78);
});
log.info({ rasterizer: config.RASTERIZER, dataDir: config.DATA_DIR }, 'worker started');

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down: finishing active pages');
  const finished = await worker.close(SHUTDOWN_DEADLINE_MS);
  if (!finished) log.warn('active pages did not finish in time; their locks expire and they are retried');
  log.info('stopped');
  process.exit(finished ? 0 : 1);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

import { ConfigError, createLogger, languageFiles, loadConfigOrExit } from '@pagefleet/shared';
import { CapacityError } from './capacity/plan.js';
import { runWorker } from './workers.js';

const config = loadConfigOrExit();
const log = createLogger(config, 'worker');
const starting = runWorker(config, log).catch((err: unknown) => {
  if (!(err instanceof CapacityError) && !(err instanceof ConfigError)) throw err;
  log.fatal(err.message);
  // EX_CONFIG, as for a bad variable: the budget set for this worker cannot run it, or its bucket is not there.
  process.exit(78);
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal, graceMs: config.SHUTDOWN_GRACE_MS }, 'shutting down: finishing active pages');
  const outcome = await (await starting).close(config.SHUTDOWN_GRACE_MS);
  if (outcome.handedBack > 0)
    log.warn({ pages: outcome.handedBack }, 'pages still running at the end of the grace period were handed back');
  log.info(outcome, 'stopped');
  // Nothing is lost either way: unfinished pages are back in their queue.
  process.exit(0);
}
// Taken from the start: pages may begin before runWorker has resolved.
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

await starting;
// Which model file each default language resolved to: OCR_MODEL=fast falls back to best_int where no fast model is installed.
const models = Object.fromEntries(
  languageFiles(config.DEFAULT_LANGUAGES, { tessdataDir: config.TESSDATA_DIR, model: config.OCR_MODEL }),
);
log.info(
  {
    rasterizer: config.RASTERIZER,
    dataDir: config.DATA_DIR,
    model: config.OCR_MODEL,
    models,
    deskew: config.DESKEW,
    autoRotate: config.AUTO_ROTATE,
  },
  'worker started',
);

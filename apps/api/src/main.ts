import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, createLogger, loadConfigOrExit } from '@pagefleet/shared';
import { connectApi } from './deps.js';
import { createServer } from './server.js';

const config = loadConfigOrExit();
const log = createLogger(config, 'api');
const deps = await connectApi(config, log).catch((err: unknown) => {
  if (!(err instanceof ConfigError)) throw err;
  log.fatal(err.message);
  // EX_CONFIG, as for a bad variable: a bucket that is not there will not appear by retrying.
  process.exit(78);
});
const server: Server = createServer(deps).listen(config.PORT, config.HOST, () =>
  log.info({ port: (server.address() as AddressInfo).port, dataDir: config.DATA_DIR }, 'api listening'),
);
// Node's own limit (300 s) would cut a long upload without an answer: UPLOAD_TIMEOUT_MS answers 408 first.
server.requestTimeout = config.UPLOAD_TIMEOUT_MS + 10_000;

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down: no new requests, finishing in-flight ones');
  const closed = new Promise<'closed'>((resolve) => server.close(() => resolve('closed')));
  deps.endStreams();
  server.closeIdleConnections();
  const deadline = new Promise<'timeout'>((resolve) =>
    setTimeout(resolve, config.SHUTDOWN_GRACE_MS, 'timeout').unref(),
  );
  const outcome = await Promise.race([closed, deadline]);
  await deps.close();
  log.info({ outcome }, 'stopped');
  process.exit(outcome === 'closed' ? 0 : 1);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

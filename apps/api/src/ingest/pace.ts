import type { RequestHandler } from 'express';
import { RequestTimeoutError, type Config } from '@pagefleet/shared';
import { sendProblem } from '../problem.js';

/** How often an upload's progress is looked at. */
const TICK_MS = 1000;

/**
 * Cuts an upload that crawls (less than UPLOAD_MIN_BYTES_PER_SECOND over any UPLOAD_GRACE_MS,
 * from its start) or outlasts UPLOAD_TIMEOUT_MS: each holds an upload slot, so that a few dozen
 * clients sending a byte now and then would otherwise lock every other upload out. Progress is
 * read from the socket, which the multipart parser consumes; the body's end stops the watch.
 */
export function uploadPace(config: Config): RequestHandler {
  const window = Math.max(1, Math.round(config.UPLOAD_GRACE_MS / TICK_MS));
  const minBytes = (config.UPLOAD_MIN_BYTES_PER_SECOND * config.UPLOAD_GRACE_MS) / 1000;
  return (req, res, next) => {
    const started = Date.now();
    const base = req.socket.bytesRead;
    // Bytes received at each of the last `window` ticks, oldest first.
    const received: number[] = [0];
    const timer = setInterval(() => {
      const now = req.socket.bytesRead - base;
      received.push(now);
      if (received.length > window + 1) received.shift();
      if (Date.now() - started > config.UPLOAD_TIMEOUT_MS) {
        cut(`the upload took longer than ${config.UPLOAD_TIMEOUT_MS} ms (UPLOAD_TIMEOUT_MS)`);
        return;
      }
      const sent = now - (received[0] ?? 0);
      if (minBytes > 0 && received.length > window && sent < minBytes) {
        cut(
          `the upload sent ${sent} bytes in ${config.UPLOAD_GRACE_MS} ms, less than ${config.UPLOAD_MIN_BYTES_PER_SECOND} a second (UPLOAD_MIN_BYTES_PER_SECOND)`,
        );
      }
    }, TICK_MS);
    timer.unref();
    const stop = () => clearInterval(timer);
    req.once('end', stop);
    res.once('close', stop);

    function cut(reason: string) {
      stop();
      const err = new RequestTimeoutError(reason);
      res.set('Connection', 'close');
      sendProblem(res, err.status, err.code, err.title, err.message);
      // Then the parser is failed, which removes what it wrote; the error handler sees the answer sent.
      res.once('finish', () => req.destroy(err));
    }
    next();
  };
}

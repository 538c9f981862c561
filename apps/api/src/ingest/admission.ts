import type { RequestHandler } from 'express';
import { clientOf } from '../auth.js';
import {
  BackpressureError,
  freeDiskBytes,
  StorageFullError,
  TooLargeError,
  TooManyUploadsError,
  unavailable,
  UnavailableError,
  type Config,
  type Dispatcher,
} from '@pagefleet/shared';

/** Room for the multipart boundaries, part headers and fields around the files. */
const FORM_OVERHEAD_BYTES = 1024 * 1024;

/** Seconds a client is asked to wait when too many pages are queued: a few pages' worth of work. */
const BACKPRESSURE_RETRY_SECONDS = 30;

export interface AdmissionDeps {
  config: Config;
  dispatch: Dispatcher;
}

/**
 * Runs before the upload is read, so that a refused request costs neither bandwidth nor disk:
 * no body declared larger than any valid submission (413), none while the disk has less than
 * MIN_FREE_DISK free (507), at most MAX_CONCURRENT_UPLOADS uploads per process (503) and
 * UPLOADS_PER_CLIENT per client (429), and none while more than
 * MAX_QUEUED_PAGES pages wait for a worker (429).
 */
export function admission({ config, dispatch }: AdmissionDeps): RequestHandler {
  let active = 0;
  // Uploads in progress per client: its API key's digest, else its address.
  const byClient = new Map<string, number>();
  const maxBody = config.MAX_FILES * config.MAX_FILE_BYTES + FORM_OVERHEAD_BYTES;
  return async (req, res, next) => {
    // A body declared too large for any valid submission is refused unread. One that does not
    // declare its length is cut at MAX_FILE_BYTES by multer, which then reads the rest of it
    // (to spare the client an EPIPE) before the 413.
    const declared = Number(req.get('content-length') ?? 0);
    if (declared > maxBody) {
      throw new TooLargeError(
        `the request declares ${declared} bytes; at most ${maxBody} are accepted (MAX_FILES × MAX_FILE_BYTES)`,
      );
    }
    const free = await freeDiskBytes(config.DATA_DIR).catch(() => 0);
    if (free < config.MIN_FREE_DISK) {
      throw new StorageFullError(
        `the server keeps ${config.MIN_FREE_DISK} bytes free (MIN_FREE_DISK) and has ${free}: nothing was uploaded; retry later`,
      );
    }
    if (active >= config.MAX_CONCURRENT_UPLOADS) {
      throw new UnavailableError(
        `${active} uploads are in progress, the most this server takes at once (MAX_CONCURRENT_UPLOADS); retry shortly`,
        1,
        'busy',
      );
    }
    const client = clientOf(res) ?? `address ${req.ip ?? ''}`;
    const mine = byClient.get(client) ?? 0;
    if (mine >= config.UPLOADS_PER_CLIENT) {
      throw new TooManyUploadsError(
        `${mine} of your uploads are in progress, the most one client may send at once (UPLOADS_PER_CLIENT); retry when one has ended`,
      );
    }
    active++;
    byClient.set(client, mine + 1);
    res.once('close', () => {
      active--;
      const left = (byClient.get(client) ?? 1) - 1;
      if (left === 0) byClient.delete(client);
      else byClient.set(client, left);
    });
    let queued: number;
    try {
      queued = await dispatch.queuedPages();
    } catch (err) {
      throw unavailable('the job queue is unreachable', err);
    }
    if (queued >= config.MAX_QUEUED_PAGES) {
      throw new BackpressureError(
        `${queued} pages are waiting for a worker; new jobs are accepted below ${config.MAX_QUEUED_PAGES} (MAX_QUEUED_PAGES)`,
        BACKPRESSURE_RETRY_SECONDS,
      );
    }
    next();
  };
}

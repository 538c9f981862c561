import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import multer from 'multer';
import {
  InvalidRequestError,
  isRedisTimeout,
  isStorageFull,
  isWriteRefusal,
  NotFoundError,
  PagefleetError,
  problemBody,
  StorageFullError,
  TooLargeError,
  UnavailableError,
  type Config,
  type Logger,
  type ProblemCode,
} from '@pagefleet/shared';

export function sendProblem(res: Response, status: number, code: ProblemCode, title: string, detail: string): void {
  // For the metrics of refusals.
  res.locals.problemCode = code;
  res
    .status(status)
    .type('application/problem+json')
    .send(problemBody(status, code, title, detail));
}

function fromMulter(err: multer.MulterError, config: Config): PagefleetError {
  switch (err.code) {
    case 'LIMIT_FILE_SIZE':
      return new TooLargeError(`a file exceeds ${config.MAX_FILE_BYTES} bytes (MAX_FILE_BYTES)`);
    case 'LIMIT_FILE_COUNT':
      return new TooLargeError(`at most ${config.MAX_FILES} files per job (MAX_FILES)`);
    case 'LIMIT_FIELD_COUNT':
    case 'LIMIT_FIELD_VALUE':
    case 'LIMIT_FIELD_KEY':
    case 'LIMIT_PART_COUNT':
      return new InvalidRequestError(
        `${err.message.toLowerCase()}: send at most the fields languages, dpi, outputs and callbackUrl, and files`,
      );
    case 'LIMIT_UNEXPECTED_FILE':
      return new InvalidRequestError(`unexpected file field "${err.field}": send files in the field "file"`);
    default:
      return new InvalidRequestError(`malformed upload: ${err.message}`);
  }
}

export const notFound: RequestHandler = (req) => {
  throw new NotFoundError(`no route for ${req.method} ${req.path}`);
};

/** Whether Redis refusing a write is what failed the request, directly or as the cause of a refusal. */
const refusedByRedis = (err: unknown) => isWriteRefusal(err) || (err instanceof Error && isWriteRefusal(err.cause));

/**
 * Maps every error to a problem+json answer. Known errors keep their status and message; an
 * unknown one is logged and answered 500 (or 503 while Redis is away, paused or refusing writes)
 * without its details. `onRefused` counts the requests that Redis' refusal of a write failed.
 */
export function errorHandler(
  config: Config,
  log: Logger,
  redisReady: () => boolean,
  onRefused: () => void,
): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    // An upload cut for its pace was answered already (uploadPace).
    if (res.headersSent) return;
    if (refusedByRedis(err)) onRefused();
    let known: PagefleetError | undefined;
    if (err instanceof PagefleetError) known = err;
    else if (err instanceof multer.MulterError) known = fromMulter(err, config);
    else if (isStorageFull(err))
      known = new StorageFullError('the server has no room to store the upload; nothing was kept');
    else if (isClientError(err)) known = new InvalidRequestError(`malformed request: ${(err as Error).message}`);
    else if (isWriteRefusal(err)) {
      known = new UnavailableError('the job store takes no writes for now (full, read-only or loading); retry shortly');
    } else if (!redisReady() || isRedisTimeout(err)) {
      known = new UnavailableError('the job store is unreachable; retry shortly');
    }

    if (!known) {
      log.error({ err, method: req.method, url: req.originalUrl }, 'request failed');
      sendProblem(res, 500, 'internal', 'Internal error', 'the server could not complete the request');
      return;
    }
    if (known.retryAfterSeconds !== undefined) res.set('Retry-After', String(known.retryAfterSeconds));
    sendProblem(res, known.status, known.code, known.title, known.message);
    if (!req.complete) drainThenClose(req);
  };
}

/**
 * How long the body of a request refused before it was read is still read (and dropped) after
 * the answer. Closed at once, the connection is reset under a client still sending, and fetch
 * fails with EPIPE without the answer (measured against a bare server: 0 of 20 answered with a
 * 50 MB body, 9 of 20 with 5 MB); with the body read, 20 of 20 at every size. Bounded, so that a
 * refused client cannot hold the connection.
 */
const DRAIN_MS = 5000;

function drainThenClose(req: Request): void {
  const timer = setTimeout(() => req.socket.destroy(), DRAIN_MS);
  timer.unref();
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  req.resume();
}

/** Errors raised by body parsing (busboy, http-errors) that are the client's fault. */
function isClientError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number') return status >= 400 && status < 500;
  return /^(Unexpected end of form|Malformed part header|Multipart: Boundary not found)/.test(err.message);
}

import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import multer from 'multer';
import {
  BackpressureError,
  InvalidRequestError,
  isRedisTimeout,
  isStorageFull,
  NotFoundError,
  PagefleetError,
  problemBody,
  StorageFullError,
  TooLargeError,
  UnavailableError,
  type Config,
  type Logger,
} from '@pagefleet/shared';

export function sendProblem(res: Response, status: number, code: string, title: string, detail: string): void {
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

/**
 * Maps every error to a problem+json answer. Known errors keep their status and message; an
 * unknown one is logged and answered 500 (or 503 while Redis is away or paused) without its details.
 */
export function errorHandler(config: Config, log: Logger, redisReady: () => boolean): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let known: PagefleetError | undefined;
    if (err instanceof PagefleetError) known = err;
    else if (err instanceof multer.MulterError) known = fromMulter(err, config);
    else if (isStorageFull(err))
      known = new StorageFullError('the server has no room to store the upload; nothing was kept');
    else if (isClientError(err)) known = new InvalidRequestError(`malformed request: ${(err as Error).message}`);
    else if (!redisReady() || isRedisTimeout(err)) {
      known = new UnavailableError('the job store is unreachable; retry shortly');
    }

    if (!known) {
      log.error({ err, method: req.method, url: req.originalUrl }, 'request failed');
      sendProblem(res, 500, 'internal', 'Internal error', 'the server could not complete the request');
      return;
    }
    if (known instanceof UnavailableError || known instanceof BackpressureError) {
      res.set('Retry-After', String(known.retryAfterSeconds));
    }
    // A refused upload is not read to its end: the connection closes after the answer.
    if (!req.complete) res.set('Connection', 'close');
    sendProblem(res, known.status, known.code, known.title, known.message);
  };
}

/** Errors raised by body parsing (busboy, http-errors) that are the client's fault. */
function isClientError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number') return status >= 400 && status < 500;
  return /^(Unexpected end of form|Malformed part header|Multipart: Boundary not found)/.test(err.message);
}

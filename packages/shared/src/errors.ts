import type { ProblemCode, UnprocessableCode } from '@pagefleet/contract';

/** An RFC 9457 problem document; `code` is also the last part of `type`, for clients that switch on it. */
export function problemBody(status: number, code: ProblemCode, title: string, detail: string): string {
  return JSON.stringify({ type: `urn:pagefleet:problem:${code}`, title, status, detail, code });
}

/**
 * Every error a client can be told about. Each carries a stable `code` (also the last part of the
 * problem `type`), the HTTP status the API answers with, and a message safe to show to the client.
 */
export abstract class PagefleetError extends Error {
  abstract readonly status: number;
  abstract readonly code: ProblemCode;
  abstract readonly title: string;
  /** Set on refusals for now (503, 429): the API answers it as `Retry-After`. */
  readonly retryAfterSeconds?: number;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    // Logs and stack traces name the class (InvalidRequestError), not plain `Error`.
    this.name = new.target.name;
  }
}

export class InvalidRequestError extends PagefleetError {
  readonly status = 400;
  readonly code = 'invalid_request';
  readonly title = 'Invalid request';
}

export class NotFoundError extends PagefleetError {
  readonly status = 404;
  readonly code = 'not_found';
  readonly title = 'Not found';
}

export class NotFinishedError extends PagefleetError {
  readonly status = 409;
  readonly code = 'not_finished';
  readonly title = 'Job not finished';
}

export class TooLargeError extends PagefleetError {
  readonly status = 413;
  readonly code = 'too_large';
  readonly title = 'Upload too large';
}

export class UnsupportedTypeError extends PagefleetError {
  readonly status = 415;
  readonly code = 'bad_type';
  readonly title = 'Unsupported file type';
}

/** The upload is of a known type but cannot be processed: broken, encrypted, empty, too many pages. */
export class UnprocessableError extends PagefleetError {
  readonly status = 422;
  readonly code: UnprocessableCode;
  readonly title = 'Document cannot be processed';
  constructor(code: UnprocessableCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** The service cannot take the request now; the client should retry after `retryAfterSeconds`. */
export class UnavailableError extends PagefleetError {
  readonly status = 503;
  readonly title = 'Service unavailable';
  constructor(
    message: string,
    override readonly retryAfterSeconds = 5,
    readonly code: 'unavailable' | 'busy' = 'unavailable',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** `what` could not be done because Redis or the store failed with `err` (kept as the cause). */
export const unavailable = (what: string, err: unknown) =>
  new UnavailableError(`${what} (${(err as Error).message}); retry shortly`, 5, 'unavailable', { cause: err });

/** Too much work is already waiting: backpressure, so that queues and disk stay bounded. */
export class BackpressureError extends PagefleetError {
  readonly status = 429;
  readonly code = 'backpressure';
  readonly title = 'Too many pages queued';
  constructor(
    message: string,
    override readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** One client has as many uploads in progress as it may (UPLOADS_PER_CLIENT). */
export class TooManyUploadsError extends PagefleetError {
  readonly status = 429;
  readonly code = 'too_many_uploads';
  readonly title = 'Too many uploads';
  override readonly retryAfterSeconds = 1;
}

/** A tenant has submitted as many documents as its limit allows for now (TENANTS, TENANT_DOCUMENTS_PER_MINUTE). */
export class TenantLimitError extends PagefleetError {
  readonly status = 429;
  readonly code = 'tenant_limit';
  readonly title = 'Tenant limit reached';
  constructor(
    message: string,
    override readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** An upload that crawled below UPLOAD_MIN_BYTES_PER_SECOND, or ran past UPLOAD_TIMEOUT_MS. */
export class RequestTimeoutError extends PagefleetError {
  readonly status = 408;
  readonly code = 'request_timeout';
  readonly title = 'Request timeout';
}

export class UnauthorizedError extends PagefleetError {
  readonly status = 401;
  readonly code = 'unauthorized';
  readonly title = 'Unauthorized';
}

/** A valid key that may not use this route (a tenant's key on an administrator's route). */
export class ForbiddenError extends PagefleetError {
  readonly status = 403;
  readonly code = 'forbidden';
  readonly title = 'Forbidden';
}

/** Another request with the same Idempotency-Key is still being handled. */
export class ConflictError extends PagefleetError {
  readonly status = 409;
  readonly code = 'conflict';
  readonly title = 'Conflict';
}

/** An Idempotency-Key used again with other files or options (the IETF Idempotency-Key draft's 422). */
export class IdempotencyMismatchError extends PagefleetError {
  readonly status = 422;
  readonly code = 'idempotency_mismatch';
  readonly title = 'Idempotency-Key reused';
}

/** Write errors that mean the disk is full or this process may write no more (quota, file size limit). */
export function isStorageFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG';
}

export class StorageFullError extends PagefleetError {
  readonly status = 507;
  readonly code = 'storage_full';
  readonly title = 'Insufficient storage';
}

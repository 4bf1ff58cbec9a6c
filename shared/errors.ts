/** What kind of failure an error is; the HTTP layer and the runner both decide by kind, never by message. */
export type ErrorKind =
  | 'invalid'
  | 'unauthorized'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'unsupported'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

export interface ErrorDetail {
  path: string;
  message: string;
}

/** A failure with a stable machine-readable `code`; `message` is safe to show to the caller. */
export class AppError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(details: ErrorDetail[], message = 'The request has invalid fields') {
    super('invalid', 'VALIDATION_FAILED', message, details);
  }
}

export class NotFoundError extends AppError {
  constructor(code: string, message: string) {
    super('not_found', code, message);
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string) {
    super('conflict', code, message);
  }
}

export class UnauthorizedError extends AppError {
  constructor() {
    super('unauthorized', 'UNAUTHORIZED', 'A valid API key is required');
  }
}

/** 429 with Retry-After; the message says which of the tenant's limits was reached. */
export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number, message = 'Too many requests for this tenant') {
    super('rate_limited', 'RATE_LIMITED', message, undefined, retryAfterSeconds);
  }
}

/** A dependency (DynamoDB, SQS, S3, a provider) did not answer; the caller should retry later. */
export class DependencyUnavailableError extends AppError {
  constructor(dependency: string, cause?: unknown) {
    super('unavailable', 'SERVICE_UNAVAILABLE', 'A dependency is unavailable, retry later', undefined, 5);
    this.dependency = dependency;
    this.cause = cause;
  }
  readonly dependency: string;
}

/** The one table from error kind to HTTP status. */
export const HTTP_STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported: 415,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/** Whether a consumer (runner, queue handler) should retry work that failed with this error. */
export const isRetryable = (error: unknown): boolean =>
  !(error instanceof AppError) ||
  error.kind === 'unavailable' ||
  error.kind === 'internal' ||
  error.kind === 'rate_limited';

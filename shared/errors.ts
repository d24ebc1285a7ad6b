/**
 * Errors are values with a kind, an HTTP status and a message that is safe to
 * show a client. Internal detail (SQL, stack, upstream bodies) goes to `cause`
 * and to logs only.
 */
export type ErrorKind =
  | "invalid_request"
  | "unauthorized"
  | "payment_required"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "gone"
  | "payload_too_large"
  | "rate_limited"
  | "unavailable"
  | "internal";

/** Every status an error answers with; a literal union, so renderers need no cast to hand it on. */
export type ErrorStatus = 400 | 401 | 402 | 403 | 404 | 409 | 410 | 413 | 429 | 500 | 503;

const STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  payment_required: 402,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
} as const satisfies Record<ErrorKind, ErrorStatus>;

export class AppError extends Error {
  override name = "AppError";
  readonly status: ErrorStatus;
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly options: { code?: string; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = STATUS[kind];
  }

  get code(): string {
    return this.options.code ?? this.kind;
  }

  /** Stripe-style error object. */
  toBody(): { error: { type: ErrorKind; code: string; message: string } } {
    return { error: { type: this.kind, code: this.code, message: this.message } };
  }
}

/**
 * `Retry-After` when nothing says when a dependency will be back: long enough
 * that a retry is not just a second failure piled onto a struggling
 * dependency, short enough that a client that obeys it recovers promptly.
 */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/**
 * The one way to answer 503: what is unavailable, and `Retry-After` — the
 * time until it may be back when that is known (an open circuit breaker's
 * remaining open period), otherwise `DEFAULT_RETRY_AFTER_SECONDS`; never
 * less than one second.
 */
export function unavailable(
  message: string,
  options: { retryAfterSeconds?: number; cause?: unknown; code?: string } = {},
): AppError {
  const seconds = Math.max(1, Math.ceil(options.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS));
  return new AppError("unavailable", message, {
    code: options.code,
    cause: options.cause,
    headers: { "Retry-After": String(seconds) },
  });
}

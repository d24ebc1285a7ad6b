/**
 * Errors are values with a kind, an HTTP status and a message that is safe to
 * show a client. Internal detail (SQL, stack, upstream bodies) goes to `cause`
 * and to logs only.
 */
export type ErrorKind =
  | "invalid_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "rate_limited"
  | "unavailable"
  | "internal";

const STATUS: Record<ErrorKind, number> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

export class AppError extends Error {
  override name = "AppError";
  readonly status: number;
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

import { DatabaseUnavailableError } from "../shared/db/guarded";
import { AppError, type ErrorKind, type ErrorStatus, unavailable } from "../shared/errors";
import { isFencedWrite } from "../shared/lifecycle/move/write-fence";
import { createLogger, describeError, type Logger } from "../shared/logging";
import { FieldError } from "../shared/memory/errors";
import { tenantMigratingError } from "./admission";
import { wireName } from "./mcp/tools/wire-case";

/**
 * The one translation from anything thrown to what a client is told, in the
 * manner of Hono's `HTTPException` and single error handler. Domain errors
 * (`AppError`) carry their kind, status and safe message; a write that met a
 * move's fence, a database that did not answer and everything unexpected are
 * mapped here, once. The HTTP error handler (workers/app.ts), the MCP
 * handlers (workers/mcp/failures.ts) and the JSON-RPC refusals on `/mcp`
 * (workers/mcp/json-rpc-errors.ts) only render the answer.
 *
 * Anything but an `AppError` is logged here with its real cause by the
 * request's logger (which carries the request id); no raw exception message
 * reaches a client.
 */
export interface ErrorAnswer {
  status: ErrorStatus;
  kind: ErrorKind;
  code: string;
  message: string;
  /** `Retry-After`, `WWW-Authenticate`…: to send with the answer. */
  headers: Record<string, string>;
}

/** What failed inside an MCP handler: a tool, a resource or a prompt, by name — for the log line. */
export type Handler = { tool: string } | { resource: string } | { prompt: string };

/**
 * Who reads the answer. An MCP handler's answer is read by a model, so its
 * messages say what is guaranteed and what to do next, and name fields the
 * way the tools spell them.
 */
export type Audience = { surface: "http" } | { surface: "mcp"; tenantId: string; handler: Handler };

function fromAppError(error: AppError, message = error.message): ErrorAnswer {
  return { status: error.status, kind: error.kind, code: error.code, message, headers: error.options.headers ?? {} };
}

export function errorAnswer(error: unknown, logger: Logger | undefined, audience: Audience): ErrorAnswer {
  const log = logger ?? createLogger({ component: "errors" });
  const where = audience.surface === "mcp" ? { tenant: audience.tenantId, ...audience.handler } : {};
  // The store names a field in its own terms; a tool's caller reads it as it spelt it.
  if (error instanceof FieldError && audience.surface === "mcp") {
    return fromAppError(error, `${wireName(error.field)}: ${error.message}`);
  }
  if (error instanceof AppError) return fromAppError(error);
  // A write that raced the start of a tenant move and met the old database's fence.
  if (isFencedWrite(error)) return fromAppError(tenantMigratingError());
  if (error instanceof DatabaseUnavailableError) {
    log.error(error.target === "managementDb" ? "Cannot connect to management database" : "database unavailable", {
      ...where,
      target: error.target,
      database: error.database,
      ...describeError(error.cause),
    });
    // A timeout can hide a commit that happened: the model is told what holds either way.
    const message =
      audience.surface === "mcp"
        ? "database unavailable: the memory store did not answer. Writes are applied whole or not at all; " +
          "retry shortly (remember with the same idempotency_key is safe to repeat)"
        : "database unavailable";
    return fromAppError(unavailable(message, { retryAfterSeconds: error.retryAfterSeconds }));
  }
  log.error(audience.surface === "mcp" ? "mcp handler failed" : "unhandled error", {
    ...where,
    ...describeError(error),
  });
  const message =
    audience.surface === "http"
      ? "internal error"
      : "tool" in audience.handler
        ? "internal error: the tool failed and nothing was changed"
        : "internal error: the request failed; retry later";
  return fromAppError(new AppError("internal", message));
}

/** The answer as the REST API's error body (Stripe's shape). */
export function errorBody(answer: ErrorAnswer): { error: { type: ErrorKind; code: string; message: string } } {
  return { error: { type: answer.kind, code: answer.code, message: answer.message } };
}

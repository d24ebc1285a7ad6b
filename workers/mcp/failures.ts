import { ProtocolError, ProtocolErrorCode } from "@modelcontextprotocol/server";
import { DatabaseUnavailableError } from "../../shared/db/guarded";
import { AppError } from "../../shared/errors";
import { isFencedWrite } from "../../shared/lifecycle/move/write-fence";
import { describeError, type Logger } from "../../shared/logging";
import { FieldError } from "../../shared/memory/errors";
import { tenantMigratingError } from "../admission";
import { wireName } from "./tools/wire-case";

/** What failed: a tool, a resource or a prompt, by name — for the log line. */
export type Handler = { tool: string } | { resource: string } | { prompt: string };

/**
 * The one mapping from a failure inside a tool, resource or prompt handler
 * to what the client reads: an `AppError`'s safe message, a clear "database
 * unavailable" that promises atomicity (a timeout can hide a commit that
 * happened), or a bare "internal error". Everything but an `AppError` is
 * logged with its real cause by the request's logger, which carries the
 * request id; no raw exception message reaches the client.
 */
export function failureMessage(error: unknown, logger: Logger, tenantId: string, handler: Handler): string {
  // The store names a field in its own terms; the client reads it as it spelt it.
  if (error instanceof FieldError) return `${wireName(error.field)}: ${error.message}`;
  if (error instanceof AppError) return error.message;
  // A write that raced the start of a tenant migration and met the old database's fence.
  if (isFencedWrite(error)) return tenantMigratingError().message;
  if (error instanceof DatabaseUnavailableError) {
    logger.error("database unavailable", { tenant: tenantId, ...handler, ...describeError(error.cause) });
    return (
      "database unavailable: the memory store did not answer. Writes are applied whole or not at all; " +
      "retry shortly (remember with the same idempotency_key is safe to repeat)"
    );
  }
  logger.error("mcp handler failed", { tenant: tenantId, ...handler, ...describeError(error) });
  return "tool" in handler
    ? "internal error: the tool failed and nothing was changed"
    : "internal error: the request failed; retry later";
}

/**
 * Resources and prompts have no error result (tools answer `isError`), so
 * their failures become a JSON-RPC error with the same message. Protocol
 * errors the handler raised on purpose (an unknown resource) pass as they are.
 */
export function guarded<A extends unknown[], R>(
  logger: Logger,
  tenantId: string,
  handler: Handler,
  run: (...args: A) => Promise<R> | R,
): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await run(...args);
    } catch (error) {
      if (error instanceof ProtocolError) throw error;
      const message = failureMessage(error, logger, tenantId, handler);
      const invalid = error instanceof AppError && error.status < 500;
      throw new ProtocolError(invalid ? ProtocolErrorCode.InvalidParams : ProtocolErrorCode.InternalError, message);
    }
  };
}

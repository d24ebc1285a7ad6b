import { ProtocolError, ProtocolErrorCode } from "@modelcontextprotocol/server";
import type { Logger } from "../../shared/logging";
import { errorAnswer, type Handler } from "../error-answer";

/** The message a tool's error result carries for `error` (workers/error-answer.ts decides it). */
export function failureMessage(error: unknown, logger: Logger, tenantId: string, handler: Handler): string {
  return errorAnswer(error, logger, { surface: "mcp", tenantId, handler }).message;
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
      const answer = errorAnswer(error, logger, { surface: "mcp", tenantId, handler });
      const code = answer.status < 500 ? ProtocolErrorCode.InvalidParams : ProtocolErrorCode.InternalError;
      throw new ProtocolError(code, answer.message);
    }
  };
}

import type { AdmitRefusal } from "../../durable-objects/tenant/contract";
import type { PlanLimitTable } from "../../shared/plans";
import { admissionError } from "../admission";
import { type ErrorAnswer, errorAnswer } from "../error-answer";

/** JSON-RPC error codes this endpoint answers with before the SDK serves a request. */
export const JSON_RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  /** Server error range: what the SDK's own transports use for HTTP-level refusals. */
  serverError: -32000,
  /** The SDK's (and clients') code for an unknown session. */
  sessionNotFound: -32001,
} as const;

export function jsonRpcError(
  status: number,
  code: number,
  message: string,
  options: { id?: string | number | null; data?: unknown; headers?: Record<string, string> } = {},
): Response {
  const body = {
    jsonrpc: "2.0",
    id: options.id ?? null,
    error: { code, message, ...(options.data !== undefined && { data: options.data }) },
  };
  return Response.json(body, { status, headers: options.headers });
}

/**
 * The JSON-RPC rendering of workers/error-answer.ts's translation: the HTTP
 * status and headers of the REST API (a `WWW-Authenticate` challenge, a
 * `Retry-After`), with a JSON-RPC error body carrying the same message and,
 * in `data`, the same type and code.
 */
export function jsonRpcAnswer(
  answer: ErrorAnswer,
  options: { id?: string | number | null; code?: number } = {},
): Response {
  return jsonRpcError(answer.status, options.code ?? JSON_RPC.serverError, answer.message, {
    id: options.id,
    data: { type: answer.kind, code: answer.code },
    headers: answer.headers,
  });
}

/**
 * An admission refusal as an MCP client expects it: the HTTP status the
 * transport spec gives it (404 sends a legacy client back to `initialize`;
 * 429 and `Retry-After` let it back off; 403 for a suspended tenant) with a
 * JSON-RPC error body carrying the same message and code as the REST API's.
 */
export function refusalResponse(refusal: AdmitRefusal, limits: PlanLimitTable, id: string | number | null): Response {
  const answer = errorAnswer(admissionError(refusal, limits), undefined, { surface: "http" });
  const code = refusal.reason === "session_not_found" ? JSON_RPC.sessionNotFound : JSON_RPC.serverError;
  return jsonRpcAnswer(answer, { id, code });
}

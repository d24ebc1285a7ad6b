import { classifyInboundRequest, isJsonContentType, readRequestBody } from "@modelcontextprotocol/server";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { memoryAccessRefusal } from "../../shared/memory/access";
import { MCP_BASELINE_SCOPE } from "../../shared/tenants/scopes";
import { admit, sessionsClosed } from "../admission";
import { authenticate } from "../auth/authenticate";
import { insufficientScope, scopeChallenge } from "../auth/require-scope";
import { errorAnswer } from "../error-answer";
import type { AppEnv } from "../types";
import { hostGuard } from "./host-guard";
import { JSON_RPC, jsonRpcAnswer, jsonRpcError, refusalResponse } from "./json-rpc-errors";
import { logSessionClosed, serveLegacy } from "./legacy";
import { summarize } from "./messages";
import { serveModern } from "./modern";
import { isWritePrompt } from "./prompts";
import { reply } from "./request";
import { isWriteTool } from "./tools/registry";

/**
 * `/mcp`: both protocol eras on one endpoint, from one server definition.
 * This module is the front door (host, credential and scope checks, the body
 * read and refusals that do not depend on the era); workers/mcp/modern.ts
 * serves 2026-07-28 requests (stateless, through the SDK's
 * `createMcpHandler`), workers/mcp/legacy.ts the 2025 era (sessions recorded
 * in the tenant's Durable Object).
 */
export const mcp = new Hono<AppEnv>();

/**
 * Authentication and scope refusals on `/mcp` answer as MCP clients expect:
 * the HTTP status and `WWW-Authenticate` challenge of the REST API, with a
 * JSON-RPC error body whose message says what is wrong.
 */
function asJsonRpc(guard: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    try {
      await guard(c, next);
    } catch (error) {
      return jsonRpcAnswer(errorAnswer(error, c.get("logger"), { surface: "http" }));
    }
  };
}

/**
 * Any MCP use reads memory, so it needs the memory door's read scope
 * (`mcp:read`, which `mcp:tools` implies); the challenge asks for the
 * baseline, `mcp:tools`.
 */
const mcpAccess: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (memoryAccessRefusal(c.get("auth").scopes, "read", "MCP")) {
    throw insufficientScope(
      c.get("services").config,
      MCP_BASELINE_SCOPE,
      "this credential has no MCP scope (mcp:tools or mcp:read)",
    );
  }
  await next();
};

mcp.use("/mcp", hostGuard(), asJsonRpc(authenticate()), asJsonRpc(mcpAccess));

/**
 * Which era serves this message: the SDK's own classification (the one its
 * `isLegacyRequest` and `createMcpHandler` use), run on the body already
 * parsed and the headers it reads, so no request copy is made to ask. The
 * 2026 era's fast path reuses it (workers/mcp/fast-call.ts).
 */
function classify(c: Context<AppEnv>, body: unknown) {
  return classifyInboundRequest({
    httpMethod: "POST",
    protocolVersionHeader: c.req.header("mcp-protocol-version"),
    mcpMethodHeader: c.req.header("mcp-method"),
    mcpNameHeader: c.req.header("mcp-name"),
    body,
  });
}

/** Form-encoded is curl's default for `-d`; a JSON body sent that way is still JSON. Anything else is refused. */
function acceptableContentType(contentType: string | undefined): boolean {
  if (!contentType || isJsonContentType(contentType)) return true;
  return contentType.split(";")[0]?.trim().toLowerCase() === "application/x-www-form-urlencoded";
}

const decoder = new TextDecoder();

/**
 * The body as text, or `tooLarge` past `max` bytes. A body whose declared
 * length is within the limit is read in one native call: the runtime frames
 * it to that length, and the size is checked again anyway. Without a declared
 * length (chunked), the SDK's streaming reader stops as soon as the limit is
 * passed. Both decode UTF-8 alike (a leading BOM dropped, bad bytes as
 * U+FFFD). The SDK's reader decodes chunk by chunk in JavaScript; on a small
 * `tools/call` that was about 6% of the Worker's samples (bench/cpu-profile.ts).
 */
async function readBody(
  request: Request,
  max: number,
): Promise<{ tooLarge: true } | { tooLarge: false; text: string }> {
  const declared = request.headers.get("content-length");
  if (declared === null || !/^\d{1,15}$/.test(declared) || Number(declared) > max) {
    return readRequestBody(request, max);
  }
  const bytes = await request.arrayBuffer();
  return bytes.byteLength > max ? { tooLarge: true } : { tooLarge: false, text: decoder.decode(bytes) };
}

mcp.post("/mcp", async (c) => {
  const { config } = c.get("services");
  if (!acceptableContentType(c.req.header("content-type"))) {
    return jsonRpcError(415, JSON_RPC.serverError, "Unsupported Media Type: Content-Type must be application/json");
  }
  const read = await readBody(c.req.raw, config.mcp.maxBodyBytes);
  if (read.tooLarge) {
    return jsonRpcError(
      413,
      JSON_RPC.serverError,
      `Payload Too Large: the body must not exceed ${config.mcp.maxBodyBytes} bytes`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(read.text);
  } catch {
    return jsonRpcError(400, JSON_RPC.parseError, "Parse error: the body is not valid JSON");
  }
  const summary = summarize(body);
  c.get("telemetry").mcpMethod = summary.methods || undefined;
  if (summary.tool) c.get("telemetry").tool = summary.tool;
  // A batch is admitted as one request, so it may carry only what costs
  // nothing: every request that does work (a tool call, a resource read, a
  // prompt) is admitted, rate-limited and metered on its own. Otherwise one
  // request could put a hundred reads on the tenant database at once.
  if (summary.batchedRequests.length > 0) {
    const methods = [...new Set(summary.batchedRequests)].slice(0, 5).map((method) => method.slice(0, 64));
    return jsonRpcError(
      400,
      JSON_RPC.invalidRequest,
      `Invalid Request: a JSON-RPC batch may carry only ping and notifications (found ${methods.join(", ")}); ` +
        "send each request on its own",
    );
  }
  // Nothing here ever changes while a client listens, and a listen stream
  // would hold a slot of the isolate-wide stream cap shared by all tenants.
  if (summary.methods === "subscriptions/listen") {
    return jsonRpcError(
      404,
      JSON_RPC.methodNotFound,
      "Method not found: subscriptions/listen is not offered; this server sends no notifications, so there is nothing to listen for",
      { id: summary.id },
    );
  }

  // A read-only credential may call only tools annotated read-only: a write
  // is refused before it is admitted or runs, with the challenge naming the
  // scope to ask for. The rule is the memory door's; the door applies it
  // again inside the tool, so a tool mis-annotated read-only still cannot write.
  // Prompts whose steps write are refused alike (workers/mcp/prompts.ts).
  const writeRefusal =
    summary.tool && isWriteTool(summary.tool)
      ? memoryAccessRefusal(c.get("auth").scopes, "write", `the tool ${summary.tool}`)
      : summary.prompt && isWritePrompt(summary.prompt)
        ? memoryAccessRefusal(c.get("auth").scopes, "write", `the prompt ${summary.prompt}`)
        : null;
  if (writeRefusal) {
    const refusal = scopeChallenge(config, writeRefusal);
    return jsonRpcAnswer(errorAnswer(refusal, c.get("logger"), { surface: "http" }), { id: summary.id });
  }

  const route = classify(c, body);
  return route.kind === "legacy"
    ? serveLegacy(c, read.text, body, summary)
    : serveModern(c, read.text, body, summary, route);
});

/**
 * `DELETE /mcp` with `Mcp-Session-Id` ends that session (it then answers
 * 404). Without one it ends all of the caller's sessions — the runbook's
 * force-close — and says how many.
 */
mcp.delete("/mcp", async (c) => {
  const { config } = c.get("services");
  const sessionId = c.req.header("mcp-session-id") ?? null;
  const result = await admit(c, { kind: "mcp", sessionId });
  if (!result.admitted) return reply(c, refusalResponse(result, config.planLimits, null));
  const tenant = c.env.TENANT_DO.getByName(c.get("auth").tenantId);
  let closed: number;
  sessionsClosed(c, sessionId);
  if (sessionId) {
    closed = (await tenant.closeSession(sessionId)) ? 1 : 0;
    if (closed === 1) logSessionClosed(c, { id: sessionId, reason: "delete" });
  } else {
    closed = await tenant.closeSessions({ reason: "delete" });
    c.get("logger").info("mcp sessions force-closed", { tenant: c.get("auth").tenantId, closed, reason: "delete" });
  }
  return c.json({ closed });
});

/** No server-initiated stream: the spec lets a server answer GET with 405, and clients then just POST. */
mcp.get("/mcp", () =>
  jsonRpcError(405, JSON_RPC.serverError, "Method not allowed: this server offers no standalone SSE stream", {
    headers: { allow: "POST, DELETE" },
  }),
);

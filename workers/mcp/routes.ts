import { AsyncLocalStorage } from "node:async_hooks";
import {
  type AuthInfo,
  classifyInboundRequest,
  createMcpHandler,
  isJsonContentType,
  type McpHttpHandler,
  readRequestBody,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import type { AdmittedSession, SessionClosure } from "../../durable-objects/tenant/contract";
import type { Config } from "../../shared/config";
import { AppError } from "../../shared/errors";
import { createLogger, describeError, type Logger } from "../../shared/logging";
import { hasScope, MCP_BASELINE_SCOPE } from "../../shared/tenants/scopes";
import { admit, chargeToolCall } from "../admission";
import { authenticate } from "../auth/authenticate";
import { insufficientScope } from "../auth/require-scope";
import type { AppEnv } from "../types";
import { hostGuard } from "./host-guard";
import { JSON_RPC, jsonRpcError, refusalResponse } from "./json-rpc-errors";
import {
  acceptsGzip,
  type CachedAnswer,
  cachedToolsList,
  keepToolsList,
  type ListRequest,
  toolsListRequest,
} from "./list-cache";
import { type MessageSummary, summarize } from "./messages";
import { createMemoryServer } from "./server";
import type { ToolContext } from "./tools/definition";
import { isWriteTool } from "./tools/registry";

/**
 * `/mcp`: both protocol eras on one endpoint, from one server definition.
 *
 * - 2026-07-28 requests carry their protocol version in every request's
 *   `_meta`; they are stateless and served by the SDK's `createMcpHandler`.
 * - 2025-era requests: `initialize` creates a session record in the tenant's
 *   Durable Object (inside the same `admit` call that rate-limits it) and the
 *   response carries `Mcp-Session-Id`; later requests with that id are
 *   admitted by the object (404 once it is gone). Each is then served by a
 *   fresh server instance over a stateless transport — the session's state is
 *   the record, not anything in this isolate — so any isolate can serve any
 *   session. Requests without a session id are served statelessly, which is
 *   what the runbook's plain `curl` relies on.
 */
export const mcp = new Hono<AppEnv>();

/**
 * The handler is built once per isolate, so its `onerror` cannot close over a
 * request; the request's logger (which carries its id) reaches it through
 * the async context of the `fetch` that reported the error.
 */
const requestLogger = new AsyncLocalStorage<Logger>();
let modern: McpHttpHandler | null = null;

/**
 * Who is calling and with what, handed to the SDK's server factory through
 * its own request context (`authInfo` on `handler.fetch`), so nothing about
 * one request lives in module state another could read. The credential's
 * secret is deliberately not passed: tools need the tenant, not the key.
 */
function authInfoFor(c: Context<AppEnv>, ctx: ToolContext): AuthInfo {
  const auth = c.get("auth");
  return {
    token: auth.keyId ? `api_key:${auth.keyId}` : "oauth_access_token",
    clientId: auth.oauth?.clientId ?? `api_key:${auth.keyId}`,
    scopes: auth.scopes,
    ...(auth.expiresAt !== null && { expiresAt: Math.floor(auth.expiresAt / 1000) }),
    extra: { toolContext: ctx },
  };
}

function toolContextOf(authInfo: AuthInfo | undefined): ToolContext {
  const ctx = authInfo?.extra?.toolContext as ToolContext | undefined;
  if (!ctx) throw new Error("no tool context for this request");
  return ctx;
}

function modernHandler(config: Config): McpHttpHandler {
  const { version } = config;
  modern ??= createMcpHandler(({ authInfo }) => createMemoryServer(toolContextOf(authInfo), version), {
    legacy: "reject",
    maxRequestBodySize: config.mcp.maxBodyBytes,
    onerror: (error) => {
      const logger = requestLogger.getStore() ?? createLogger({ component: "mcp" });
      logger.warn("mcp request refused or failed", describeError(error));
    },
  });
  return modern;
}

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
      if (!(error instanceof AppError)) throw error;
      return jsonRpcError(error.status, JSON_RPC.serverError, error.message, {
        data: { type: error.kind, code: error.code },
        headers: error.options.headers,
      });
    }
  };
}

/** Any MCP use needs `mcp:read` (which `mcp:tools` implies); the challenge asks for the baseline, `mcp:tools`. */
const mcpAccess: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!hasScope(c.get("auth").scopes, "mcp:read")) {
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
 * Send a Response built outside Hono (by the SDK, or a JSON-RPC error)
 * together with the headers set on the context — admission's rate-limit,
 * quota and warning headers. Returning the raw Response would drop them.
 */
function reply(c: Context<AppEnv>, response: Response): Response {
  return c.newResponse(response.body, response);
}

/** Clients without a stated preference (curl sends `*\/*` or nothing) get what every MCP client accepts. */
function acceptFor(c: Context<AppEnv>): string {
  const accept = c.req.header("accept");
  return !accept || accept.trim() === "*/*" ? "application/json, text/event-stream" : accept;
}

/** The request as the SDK serves it: the body already read, JSON content type, and the `accept` default. */
function normalizedRequest(c: Context<AppEnv>, text: string): Request {
  const headers = new Headers(c.req.raw.headers);
  headers.set("content-type", "application/json");
  headers.set("accept", acceptFor(c));
  return new Request(c.req.raw.url, { method: "POST", headers, body: text });
}

/**
 * Which era serves this message: the SDK's own classification (the one its
 * `isLegacyRequest` and `createMcpHandler` use), run on the body already
 * parsed and the headers it reads, so no request copy is made to ask.
 */
function isLegacy(c: Context<AppEnv>, body: unknown): boolean {
  const outcome = classifyInboundRequest({
    httpMethod: "POST",
    protocolVersionHeader: c.req.header("mcp-protocol-version"),
    mcpMethodHeader: c.req.header("mcp-method"),
    mcpNameHeader: c.req.header("mcp-name"),
    body,
  });
  return outcome.kind === "legacy";
}

/** The kept `tools/list` answer for this request, compressed when the client itself offered gzip; null on a miss. */
function cachedFor(c: Context<AppEnv>, list: ListRequest): CachedAnswer | null {
  return cachedToolsList(list, acceptsGzip(offeredEncodings(c)));
}

/** Send a kept `tools/list` answer with the headers admission set on the context. */
function replyCached(c: Context<AppEnv>, answer: CachedAnswer): Response {
  for (const [name, value] of answer.headers) c.header(name, value);
  if (!answer.gzip) return c.body(answer.body, answer.status as 200);
  c.header("content-encoding", "gzip");
  c.header("vary", "accept-encoding", { append: true });
  const response = c.body(answer.body, answer.status as 200);
  // "manual": the bytes are already gzip; the runtime must send them as they are, not compress them again.
  return new Response(response.body, { status: response.status, headers: response.headers, encodeBody: "manual" });
}

/**
 * The encodings the client itself offered. Cloudflare rewrites every request's
 * `Accept-Encoding` to `br, gzip` and keeps the client's own value in
 * `cf.clientAcceptEncoding` (empty when it sent none), and wrangler dev does
 * the same; the header is the answer only where no platform rewrote it. Bytes
 * that are already gzip go only to a client that asked for gzip: curl with no
 * `--compressed`, as the runbook uses it, must get plain JSON.
 */
function offeredEncodings(c: Context<AppEnv>): string | undefined {
  const cf = c.req.raw.cf as { clientAcceptEncoding?: string } | undefined;
  return cf?.clientAcceptEncoding ?? c.req.header("accept-encoding");
}

/** Form-encoded is curl's default for `-d`; a JSON body sent that way is still JSON. Anything else is refused. */
function acceptableContentType(contentType: string | undefined): boolean {
  if (!contentType || isJsonContentType(contentType)) return true;
  return contentType.split(";")[0]?.trim().toLowerCase() === "application/x-www-form-urlencoded";
}

mcp.post("/mcp", async (c) => {
  const { config } = c.get("services");
  if (!acceptableContentType(c.req.header("content-type"))) {
    return jsonRpcError(415, JSON_RPC.serverError, "Unsupported Media Type: Content-Type must be application/json");
  }
  const read = await readRequestBody(c.req.raw, config.mcp.maxBodyBytes);
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
  // is refused before it runs, with the challenge naming the scope to ask for.
  if (summary.tool && isWriteTool(summary.tool) && !hasScope(c.get("auth").scopes, "mcp:tools")) {
    const refusal = insufficientScope(
      config,
      "mcp:tools",
      `Forbidden: the tool ${summary.tool} writes memory and this credential has only mcp:read; it needs mcp:tools`,
    );
    return jsonRpcError(403, JSON_RPC.serverError, refusal.message, {
      id: summary.id,
      data: { type: refusal.kind, code: refusal.code },
      headers: refusal.options.headers,
    });
  }

  if (isLegacy(c, body)) return serveLegacy(c, read.text, body, summary);

  const result = await admit(c, {
    kind: "mcp",
    toolCall: summary.tool !== null,
    write: summary.tool !== null && isWriteTool(summary.tool),
  });
  if (!result.admitted) return reply(c, refusalResponse(result, config.planLimits, summary.id));
  const list = toolsListRequest("modern", config.version, c.req.raw.headers, acceptFor(c), body);
  const cached = list && cachedFor(c, list);
  if (cached) return replyCached(c, cached);
  const request = normalizedRequest(c, read.text);
  const authInfo = authInfoFor(c, toolContext(c, summary.clientName));
  const handler = modernHandler(config);
  const response = await requestLogger.run(c.get("logger"), () =>
    handler.fetch(request, { parsedBody: body, authInfo }),
  );
  return reply(c, list ? await keepToolsList(list, response) : response);
});

async function serveLegacy(c: Context<AppEnv>, text: string, body: unknown, summary: MessageSummary) {
  const { config } = c.get("services");
  const sessionId = summary.initialize ? null : (c.req.header("mcp-session-id") ?? null);
  const result = await admit(c, {
    kind: "mcp",
    sessionId,
    toolCall: summary.tool !== null,
    write: summary.tool !== null && isWriteTool(summary.tool),
    ...(summary.initialize && { initialize: summary.initialize }),
  });
  if (!result.admitted) {
    if (result.reason === "session_not_found" && result.closed) logSessionClosed(c, result.closed);
    return reply(c, refusalResponse(result, config.planLimits, summary.id));
  }
  for (const closed of result.closedSessions ?? []) logSessionClosed(c, closed);
  const session = result.session;
  // Admitted (and, in a session, the session checked) like any request; only the SDK's work is skipped.
  const list = toolsListRequest("legacy", config.version, c.req.raw.headers, acceptFor(c), body);
  const cached = list && cachedFor(c, list);
  if (cached) {
    if (session) c.header("mcp-session-id", session.id);
    return replyCached(c, cached);
  }
  if (session?.created) {
    c.get("logger").info("mcp session created", {
      tenant: c.get("auth").tenantId,
      session: session.id.slice(0, 8),
      protocolVersion: session.protocolVersion,
      client: session.clientInfo?.name,
    });
  }

  const request = normalizedRequest(c, text);
  const ctx = toolContext(c, session?.clientInfo?.name ?? summary.initialize?.clientInfo?.name ?? null);
  const server = createMemoryServer(ctx, config.version);
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    // Tools answer with one result and no progress stream, so JSON is all a client ever needs.
    enableJsonResponse: true,
    maxRequestBodySize: config.mcp.maxBodyBytes,
  });
  let response: Response;
  try {
    await server.connect(transport);
    response = await transport.handleRequest(request, { parsedBody: body, authInfo: authInfoFor(c, ctx) });
  } finally {
    await server.close().catch(() => {});
  }

  if (session?.created && !response.ok) {
    // Admission recorded the session before the SDK validated the initialize
    // (e.g. a 406 for a bad Accept header): a refused initialize must not
    // hold a session slot. (At the plan's cap its creation has already
    // evicted the least recently used session; that one stays closed.)
    await c.env.TENANT_DO.getByName(c.get("auth").tenantId).closeSession(session.id, "rejected");
    logSessionClosed(c, { id: session.id, reason: "rejected" });
    return reply(c, response);
  }
  if (session && summary.logLevel && response.ok) await rememberLogLevel(c, session, summary.logLevel);
  if (session) c.header("mcp-session-id", session.id);
  return reply(c, list ? await keepToolsList(list, response) : response);
}

async function rememberLogLevel(c: Context<AppEnv>, session: AdmittedSession, level: string) {
  try {
    await c.env.TENANT_DO.getByName(c.get("auth").tenantId).setSessionLogLevel(session.id, level);
  } catch (error) {
    // The level only shapes notifications this server does not send unprompted; the request itself succeeded.
    c.get("logger").warn("session log level not stored", describeError(error));
  }
}

function logSessionClosed(c: Context<AppEnv>, closed: SessionClosure) {
  c.get("logger").info("mcp session closed", {
    tenant: c.get("auth").tenantId,
    session: closed.id.slice(0, 8),
    reason: closed.reason,
  });
}

function toolContext(c: Context<AppEnv>, clientName: string | null): ToolContext {
  const { tenantId, db } = c.get("auth");
  const logger = c.get("logger");
  return {
    db: c.get("services").tenantDb(tenantId, db),
    tenantId,
    logger,
    clientName,
    chargeToolCall: () => chargeToolCall(c),
    defer: (work) =>
      c.executionCtx.waitUntil(
        work.catch((error: unknown) =>
          logger.warn("deferred memory write failed", { tenant: tenantId, ...describeError(error) }),
        ),
      ),
  };
}

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

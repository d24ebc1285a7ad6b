import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/server";
import type { Context } from "hono";
import type { AdmittedSession, SessionClosure } from "../../durable-objects/tenant/contract";
import { describeError } from "../../shared/logging";
import { admit } from "../admission";
import type { AppEnv } from "../types";
import { refusalResponse } from "./json-rpc-errors";
import { keepToolsList, toolsListRequest } from "./list-cache";
import type { MessageSummary } from "./messages";
import {
  acceptFor,
  authInfoFor,
  cachedFor,
  credentialMayWrite,
  normalizedRequest,
  reply,
  replyCached,
  toolContext,
} from "./request";
import { createMemoryServer } from "./server";
import { isWriteTool } from "./tools/registry";

/**
 * The 2025 era: `initialize` creates a session record in the tenant's
 * Durable Object (inside the same `admit` call that rate-limits it) and the
 * response carries `Mcp-Session-Id`; later requests with that id are admitted
 * by the object (404 once it is gone). Each is then served by a fresh server
 * instance over a stateless transport — the session's state is the record,
 * not anything in this isolate — so any isolate can serve any session.
 * Requests without a session id are served statelessly, which is what the
 * runbook's plain `curl` relies on.
 */
export async function serveLegacy(c: Context<AppEnv>, text: string, body: unknown, summary: MessageSummary) {
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
  const mayWrite = credentialMayWrite(c.get("auth").scopes);
  const list = toolsListRequest("legacy", config.version, mayWrite, c.req.raw.headers, acceptFor(c), body);
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
  const info = session?.clientInfo ?? summary.initialize?.clientInfo ?? null;
  const ctx = toolContext(c, info?.name ? { name: info.name, version: info.version || null } : null);
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

export function logSessionClosed(c: Context<AppEnv>, closed: SessionClosure) {
  c.get("logger").info("mcp session closed", {
    tenant: c.get("auth").tenantId,
    session: closed.id.slice(0, 8),
    reason: closed.reason,
  });
}

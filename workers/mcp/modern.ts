import { AsyncLocalStorage } from "node:async_hooks";
import {
  type AuthInfo,
  type classifyInboundRequest,
  createMcpHandler,
  type McpHttpHandler,
} from "@modelcontextprotocol/server";
import type { Context } from "hono";
import type { Config } from "../../shared/config";
import { createLogger, describeError, type Logger } from "../../shared/logging";
import { admit } from "../admission";
import type { AppEnv } from "../types";
import { fastToolCall } from "./fast-call";
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
import type { ToolContext } from "./tools/definition";
import { isWriteTool } from "./tools/registry";

/**
 * The 2026-07-28 era: every request carries its protocol version in its
 * `_meta` and stands alone, so the SDK's `createMcpHandler` serves it with a
 * fresh server built from the request's own context — except a plain
 * `tools/call`, which takes the fast path (workers/mcp/fast-call.ts) and
 * answers as the SDK would without building that server.
 */

/**
 * The handler's `onerror` cannot close over a request (the handler outlives
 * it); the request's logger, which carries its id, reaches it through the
 * async context of the `fetch` that reported the error.
 */
const requestLogger = new AsyncLocalStorage<Logger>();

/**
 * One handler per environment, like workers/services.ts's services: keyed by
 * that environment's parsed config, so what it was built from (the version,
 * the body limit) is always this environment's, never the first request's.
 */
const handlers = new WeakMap<Config, McpHttpHandler>();

function toolContextOf(authInfo: AuthInfo | undefined): ToolContext {
  const ctx = authInfo?.extra?.toolContext as ToolContext | undefined;
  if (!ctx) throw new Error("no tool context for this request");
  return ctx;
}

function handlerFor(config: Config): McpHttpHandler {
  let handler = handlers.get(config);
  if (!handler) {
    handler = createMcpHandler(
      ({ authInfo }) =>
        createMemoryServer(toolContextOf(authInfo), config.version, authInfo?.extra?.calling as string | null),
      {
        legacy: "reject",
        maxRequestBodySize: config.mcp.maxBodyBytes,
        onerror: (error) => {
          const logger = requestLogger.getStore() ?? createLogger({ component: "mcp" });
          logger.warn("mcp request refused or failed", describeError(error));
        },
      },
    );
    handlers.set(config, handler);
  }
  return handler;
}

/**
 * Admit, answer `tools/list` from the kept copy when there is one and a plain
 * `tools/call` on the fast path (workers/mcp/fast-call.ts), otherwise let the SDK serve.
 * `route` is the SDK's own classification of the request (workers/mcp/routes.ts).
 */
export async function serveModern(
  c: Context<AppEnv>,
  text: string,
  body: unknown,
  summary: MessageSummary,
  route: ReturnType<typeof classifyInboundRequest>,
) {
  const { config } = c.get("services");
  const result = await admit(c, {
    kind: "mcp",
    toolCall: summary.tool !== null,
    write: summary.tool !== null && isWriteTool(summary.tool),
  });
  if (!result.admitted) return reply(c, refusalResponse(result, config.planLimits, summary.id));
  const mayWrite = credentialMayWrite(c.get("auth").scopes);
  const list = toolsListRequest("modern", config.version, mayWrite, c.req.raw.headers, acceptFor(c), body);
  const cached = list && cachedFor(c, list);
  if (cached) return replyCached(c, cached);
  const client = summary.clientName ? { name: summary.clientName, version: summary.clientVersion } : null;
  if (summary.tool) {
    const fast = await fastToolCall(c, route, mayWrite, config.version, () => toolContext(c, client));
    if (fast) return reply(c, fast);
  }
  const request = normalizedRequest(c, text);
  const authInfo = authInfoFor(c, toolContext(c, client), summary.tool);
  const handler = handlerFor(config);
  const response = await requestLogger.run(c.get("logger"), () =>
    handler.fetch(request, { parsedBody: body, authInfo }),
  );
  return reply(c, list ? await keepToolsList(list, response) : response);
}
